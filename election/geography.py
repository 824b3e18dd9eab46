"""Where voters live: the regions of each supported nationality, their populations and places.

Region names are spelled as randomuser.me spells a person's `location.state`, so a roll from
the API and one from the offline generator group by the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Region:
    """A state, province or region: its name, short code, population and a few of its places."""

    name: str
    code: str
    population_k: int  # thousands of residents, a recent census; only the proportions matter
    cities: tuple[str, ...]  # largest first
    postcodes: tuple  # numeric (lowest, highest) ranges, or letter areas for gb and ca


@dataclass(frozen=True)
class Country:
    """A nationality as randomuser.me names it, with its regions and address formats."""

    nationality: str
    name: str
    regions: tuple[Region, ...]
    postcode_style: str  # "numeric", "gb" or "ca"
    postcode_width: int  # digits of a numeric postcode
    phone_template: str  # '#' any digit, 'N' a digit 2-9
    street_kinds: tuple[str, ...]
    number_after_street: bool = False  # "Hauptstraße 12" rather than "12 Main Street"


def _r(name: str, code: str, population_k: int, cities: str, *postcodes) -> Region:
    return Region(name, code, population_k, tuple(cities.split(", ")), tuple(postcodes))


# 2020 census populations; ZIP ranges by the first three digits assigned to each state.
# fmt: off
_US = (
    _r("Alabama", "AL", 5024, "Birmingham, Montgomery, Huntsville, Mobile, Tuscaloosa", (35004, 36925)),
    _r("Alaska", "AK", 733, "Anchorage, Fairbanks, Juneau, Wasilla", (99501, 99950)),
    _r("Arizona", "AZ", 7152, "Phoenix, Tucson, Mesa, Chandler, Flagstaff", (85001, 86556)),
    _r("Arkansas", "AR", 3012, "Little Rock, Fayetteville, Fort Smith, Jonesboro", (71601, 72959)),
    _r("California", "CA", 39538, "Los Angeles, San Diego, San Jose, San Francisco, Fresno, Sacramento", (90001, 96162)),
    _r("Colorado", "CO", 5774, "Denver, Colorado Springs, Aurora, Fort Collins, Boulder", (80001, 81658)),
    _r("Connecticut", "CT", 3606, "Bridgeport, New Haven, Hartford, Stamford", (6001, 6928)),
    _r("Delaware", "DE", 990, "Wilmington, Dover, Newark, Middletown", (19701, 19980)),
    _r("District of Columbia", "DC", 690, "Washington", (20001, 20599)),
    _r("Florida", "FL", 21538, "Jacksonville, Miami, Tampa, Orlando, Tallahassee", (32003, 34997)),
    _r("Georgia", "GA", 10712, "Atlanta, Augusta, Columbus, Savannah, Athens", (30002, 31999)),
    _r("Hawaii", "HI", 1455, "Honolulu, Hilo, Kailua, Pearl City", (96701, 96898)),
    _r("Idaho", "ID", 1839, "Boise, Meridian, Nampa, Idaho Falls", (83201, 83877)),
    _r("Illinois", "IL", 12813, "Chicago, Aurora, Naperville, Joliet, Springfield, Peoria", (60001, 62999)),
    _r("Indiana", "IN", 6786, "Indianapolis, Fort Wayne, Evansville, South Bend", (46001, 47997)),
    _r("Iowa", "IA", 3190, "Des Moines, Cedar Rapids, Davenport, Iowa City", (50001, 52809)),
    _r("Kansas", "KS", 2938, "Wichita, Overland Park, Kansas City, Topeka", (66002, 67954)),
    _r("Kentucky", "KY", 4506, "Louisville, Lexington, Bowling Green, Owensboro", (40003, 42788)),
    _r("Louisiana", "LA", 4658, "New Orleans, Baton Rouge, Shreveport, Lafayette", (70001, 71497)),
    _r("Maine", "ME", 1362, "Portland, Lewiston, Bangor, Augusta", (3901, 4992)),
    _r("Maryland", "MD", 6177, "Baltimore, Frederick, Rockville, Annapolis", (20601, 21930)),
    _r("Massachusetts", "MA", 7030, "Boston, Worcester, Springfield, Cambridge, Lowell", (1001, 2791)),
    _r("Michigan", "MI", 10077, "Detroit, Grand Rapids, Warren, Lansing, Ann Arbor", (48001, 49971)),
    _r("Minnesota", "MN", 5706, "Minneapolis, Saint Paul, Rochester, Duluth", (55001, 56763)),
    _r("Mississippi", "MS", 2961, "Jackson, Gulfport, Southaven, Hattiesburg", (38601, 39776)),
    _r("Missouri", "MO", 6154, "Kansas City, St. Louis, Springfield, Columbia", (63001, 65899)),
    _r("Montana", "MT", 1084, "Billings, Missoula, Great Falls, Bozeman, Helena", (59001, 59937)),
    _r("Nebraska", "NE", 1962, "Omaha, Lincoln, Bellevue, Grand Island", (68001, 69367)),
    _r("Nevada", "NV", 3105, "Las Vegas, Henderson, Reno, Carson City", (88901, 89883)),
    _r("New Hampshire", "NH", 1378, "Manchester, Nashua, Concord, Dover", (3031, 3897)),
    _r("New Jersey", "NJ", 9289, "Newark, Jersey City, Paterson, Trenton, Princeton", (7001, 8989)),
    _r("New Mexico", "NM", 2118, "Albuquerque, Las Cruces, Santa Fe, Rio Rancho", (87001, 88439)),
    _r("New York", "NY", 20201, "New York, Buffalo, Rochester, Yonkers, Syracuse, Albany", (10001, 14925)),
    _r("North Carolina", "NC", 10439, "Charlotte, Raleigh, Greensboro, Durham, Asheville", (27006, 28909)),
    _r("North Dakota", "ND", 779, "Fargo, Bismarck, Grand Forks, Minot", (58001, 58856)),
    _r("Ohio", "OH", 11799, "Columbus, Cleveland, Cincinnati, Toledo, Akron, Dayton", (43001, 45999)),
    _r("Oklahoma", "OK", 3959, "Oklahoma City, Tulsa, Norman, Broken Arrow", (73001, 74966)),
    _r("Oregon", "OR", 4237, "Portland, Salem, Eugene, Bend", (97001, 97920)),
    _r("Pennsylvania", "PA", 13003, "Philadelphia, Pittsburgh, Allentown, Erie, Harrisburg", (15001, 19640)),
    _r("Rhode Island", "RI", 1097, "Providence, Warwick, Cranston, Newport", (2801, 2940)),
    _r("South Carolina", "SC", 5118, "Charleston, Columbia, Greenville, Myrtle Beach", (29001, 29945)),
    _r("South Dakota", "SD", 887, "Sioux Falls, Rapid City, Aberdeen, Pierre", (57001, 57799)),
    _r("Tennessee", "TN", 6911, "Nashville, Memphis, Knoxville, Chattanooga", (37010, 38589)),
    _r("Texas", "TX", 29146, "Houston, San Antonio, Dallas, Austin, Fort Worth, El Paso", (75001, 79999)),
    _r("Utah", "UT", 3272, "Salt Lake City, Provo, West Valley City, Ogden", (84001, 84791)),
    _r("Vermont", "VT", 643, "Burlington, Montpelier, Rutland, Essex", (5001, 5907)),
    _r("Virginia", "VA", 8631, "Virginia Beach, Richmond, Norfolk, Arlington, Roanoke", (22001, 24658)),
    _r("Washington", "WA", 7705, "Seattle, Spokane, Tacoma, Vancouver, Olympia", (98001, 99403)),
    _r("West Virginia", "WV", 1794, "Charleston, Huntington, Morgantown, Wheeling", (24701, 26886)),
    _r("Wisconsin", "WI", 5894, "Milwaukee, Madison, Green Bay, Kenosha", (53001, 54990)),
    _r("Wyoming", "WY", 577, "Cheyenne, Casper, Laramie, Gillette", (82001, 83128)),
)
# fmt: on

# Nations and English regions; postcodes by the areas (outward letters) each one holds.
# fmt: off
_GB = (
    _r("London", "LDN", 8962, "London, Croydon, Barnet, Ealing", "E", "EC", "N", "NW", "SE", "SW", "W", "WC"),
    _r("South East", "SE", 9217, "Brighton, Reading, Oxford, Southampton, Portsmouth", "BN", "GU", "ME", "OX", "RG", "SO", "PO", "CT"),
    _r("North West", "NW", 7367, "Manchester, Liverpool, Preston, Bolton, Chester", "M", "L", "PR", "BL", "WA", "CH", "CA"),
    _r("East of England", "EE", 6269, "Cambridge, Norwich, Ipswich, Luton, Chelmsford", "CB", "CM", "CO", "IP", "NR", "SG", "LU"),
    _r("West Midlands", "WM", 5961, "Birmingham, Coventry, Wolverhampton, Stoke-on-Trent", "B", "CV", "WV", "WS", "ST", "DY"),
    _r("South West", "SW", 5659, "Bristol, Plymouth, Exeter, Bath, Gloucester", "BS", "BA", "EX", "PL", "TQ", "GL"),
    _r("Yorkshire and the Humber", "YH", 5526, "Leeds, Sheffield, Bradford, Hull, York", "LS", "S", "BD", "HU", "YO", "WF"),
    _r("East Midlands", "EM", 4866, "Nottingham, Leicester, Derby, Northampton, Lincoln", "NG", "DE", "LE", "NN", "LN"),
    _r("North East", "NE", 2680, "Newcastle upon Tyne, Sunderland, Durham, Middlesbrough", "NE", "SR", "DH", "TS"),
    _r("Scotland", "SCT", 5466, "Glasgow, Edinburgh, Aberdeen, Dundee, Inverness", "EH", "G", "AB", "DD", "KY", "IV"),
    _r("Wales", "WLS", 3170, "Cardiff, Swansea, Newport, Wrexham", "CF", "SA", "NP", "LL"),
    _r("Northern Ireland", "NIR", 1896, "Belfast, Derry, Lisburn, Newry", "BT"),
)
# fmt: on

# fmt: off
_FR = (
    _r("Île-de-France", "IDF", 12278, "Paris, Boulogne-Billancourt, Saint-Denis, Versailles", (75001, 95880)),
    _r("Auvergne-Rhône-Alpes", "ARA", 8043, "Lyon, Grenoble, Saint-Étienne, Clermont-Ferrand", (1000, 1990), (63000, 63990), (69001, 69970)),
    _r("Nouvelle-Aquitaine", "NAQ", 6000, "Bordeaux, Limoges, Poitiers, Pau, La Rochelle", (33000, 33990), (87000, 87590)),
    _r("Hauts-de-France", "HDF", 5997, "Lille, Amiens, Roubaix, Dunkerque", (59000, 59990), (80000, 80870)),
    _r("Occitanie", "OCC", 5924, "Toulouse, Montpellier, Nîmes, Perpignan", (31000, 31880), (34000, 34990)),
    _r("Grand Est", "GES", 5550, "Strasbourg, Reims, Metz, Mulhouse, Nancy", (67000, 68990), (51000, 51690)),
    _r("Provence-Alpes-Côte d'Azur", "PAC", 5081, "Marseille, Nice, Toulon, Aix-en-Provence, Avignon", (6000, 6990), (13000, 13990), (84000, 84870)),
    _r("Pays de la Loire", "PDL", 3802, "Nantes, Angers, Le Mans, Saint-Nazaire", (44000, 44980), (49000, 49750)),
    _r("Bretagne", "BRE", 3340, "Rennes, Brest, Quimper, Lorient, Vannes", (29000, 29990), (35000, 35890)),
    _r("Normandie", "NOR", 3325, "Le Havre, Rouen, Caen, Cherbourg", (14000, 14990), (76000, 76990)),
    _r("Bourgogne-Franche-Comté", "BFC", 2800, "Dijon, Besançon, Belfort, Chalon-sur-Saône", (21000, 21910), (25000, 25990)),
    _r("Centre-Val de Loire", "CVL", 2573, "Tours, Orléans, Bourges, Blois", (37000, 37800), (45000, 45770)),
    _r("Corse", "COR", 340, "Ajaccio, Bastia, Porto-Vecchio", (20000, 20290)),
)
# fmt: on

# fmt: off
_DE = (
    _r("Nordrhein-Westfalen", "NW", 17925, "Köln, Düsseldorf, Dortmund, Essen, Münster", (40210, 53947)),
    _r("Bayern", "BY", 13140, "München, Nürnberg, Augsburg, Regensburg, Würzburg", (80331, 97909)),
    _r("Baden-Württemberg", "BW", 11103, "Stuttgart, Mannheim, Karlsruhe, Freiburg im Breisgau, Heidelberg", (68159, 79879)),
    _r("Niedersachsen", "NI", 8003, "Hannover, Braunschweig, Oldenburg, Osnabrück, Göttingen", (26121, 31863)),
    _r("Hessen", "HE", 6293, "Frankfurt am Main, Wiesbaden, Kassel, Darmstadt", (60306, 65936)),
    _r("Rheinland-Pfalz", "RP", 4098, "Mainz, Ludwigshafen am Rhein, Koblenz, Trier", (54290, 56869)),
    _r("Sachsen", "SN", 4057, "Leipzig, Dresden, Chemnitz, Zwickau", (1067, 9669)),
    _r("Berlin", "BE", 3664, "Berlin", (10115, 14199)),
    _r("Schleswig-Holstein", "SH", 2911, "Kiel, Lübeck, Flensburg, Neumünster", (23552, 25999)),
    _r("Brandenburg", "BB", 2531, "Potsdam, Cottbus, Brandenburg an der Havel, Frankfurt (Oder)", (14467, 16949)),
    _r("Sachsen-Anhalt", "ST", 2181, "Halle (Saale), Magdeburg, Dessau-Roßlau", (38820, 39649)),
    _r("Thüringen", "TH", 2121, "Erfurt, Jena, Gera, Weimar", (98527, 99998)),
    _r("Hamburg", "HH", 1852, "Hamburg", (20095, 22769)),
    _r("Mecklenburg-Vorpommern", "MV", 1608, "Rostock, Schwerin, Neubrandenburg, Stralsund", (17033, 19417)),
    _r("Saarland", "SL", 984, "Saarbrücken, Neunkirchen, Homburg", (66111, 66999)),
    _r("Bremen", "HB", 681, "Bremen, Bremerhaven", (27568, 28779)),
)
# fmt: on

# Postal codes start with the letters Canada Post assigns to each province.
# fmt: off
_CA = (
    _r("Ontario", "ON", 14223, "Toronto, Ottawa, Mississauga, Hamilton, London", "K", "L", "M", "N", "P"),
    _r("Quebec", "QC", 8501, "Montréal, Québec, Laval, Gatineau, Sherbrooke", "G", "H", "J"),
    _r("British Columbia", "BC", 5000, "Vancouver, Surrey, Burnaby, Victoria, Kelowna", "V"),
    _r("Alberta", "AB", 4262, "Calgary, Edmonton, Red Deer, Lethbridge", "T"),
    _r("Manitoba", "MB", 1342, "Winnipeg, Brandon, Steinbach", "R"),
    _r("Saskatchewan", "SK", 1132, "Saskatoon, Regina, Prince Albert", "S"),
    _r("Nova Scotia", "NS", 969, "Halifax, Sydney, Truro", "B"),
    _r("New Brunswick", "NB", 775, "Moncton, Saint John, Fredericton", "E"),
    _r("Newfoundland and Labrador", "NL", 510, "St. John's, Mount Pearl, Corner Brook", "A"),
    _r("Prince Edward Island", "PE", 154, "Charlottetown, Summerside", "C"),
    _r("Northwest Territories", "NT", 41, "Yellowknife, Hay River", "X"),
    _r("Yukon", "YT", 40, "Whitehorse, Dawson City", "Y"),
    _r("Nunavut", "NU", 37, "Iqaluit, Rankin Inlet", "X"),
)
# fmt: on

# fmt: off
_AU = (
    _r("New South Wales", "NSW", 8072, "Sydney, Newcastle, Wollongong, Central Coast", (2000, 2599), (2619, 2899)),
    _r("Victoria", "VIC", 6503, "Melbourne, Geelong, Ballarat, Bendigo", (3000, 3999)),
    _r("Queensland", "QLD", 5156, "Brisbane, Gold Coast, Sunshine Coast, Townsville, Cairns", (4000, 4999)),
    _r("Western Australia", "WA", 2660, "Perth, Mandurah, Bunbury, Geraldton", (6000, 6797)),
    _r("South Australia", "SA", 1781, "Adelaide, Mount Gambier, Whyalla", (5000, 5799)),
    _r("Tasmania", "TAS", 557, "Hobart, Launceston, Devonport", (7000, 7799)),
    _r("Australian Capital Territory", "ACT", 454, "Canberra", (2600, 2618)),
    _r("Northern Territory", "NT", 233, "Darwin, Alice Springs, Palmerston", (800, 899)),
)
# fmt: on

_ENGLISH_STREETS = ("Street", "Road", "Avenue", "Lane", "Drive", "Close", "Way", "Place")
_US_STREETS = ("St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Way", "Ct")

COUNTRIES: dict[str, Country] = {
    "us": Country("us", "United States", _US, "numeric", 5, "(N##) N##-####", _US_STREETS),
    "gb": Country("gb", "United Kingdom", _GB, "gb", 0, "01### ######", _ENGLISH_STREETS),
    "fr": Country(
        "fr", "France", _FR, "numeric", 5, "0#-##-##-##-##", ("Rue", "Avenue", "Boulevard", "Place")
    ),
    "de": Country(
        "de",
        "Germany",
        _DE,
        "numeric",
        5,
        "0###-#######",
        ("straße", "weg", "allee", "ring", "platz"),
        number_after_street=True,
    ),
    "ca": Country("ca", "Canada", _CA, "ca", 0, "N##-N##-####", _ENGLISH_STREETS),
    "au": Country("au", "Australia", _AU, "numeric", 4, "0#-####-####", _ENGLISH_STREETS),
}

SUPPORTED_NATIONALITIES = tuple(COUNTRIES)

# For the dashboard's choropleth, which locates US states by their postal codes.
US_STATE_CODES: dict[str, str] = {region.name: region.code for region in _US}


def country(nationality: str) -> Country:
    """The country of a randomuser.me nationality code ("us", "gb", ...), case-insensitive."""
    key = (nationality or "").strip().lower()
    if key not in COUNTRIES:
        supported = ", ".join(SUPPORTED_NATIONALITIES)
        raise ValueError(f"unsupported nationality {nationality!r}; supported: {supported}")
    return COUNTRIES[key]


def regions(nationality: str) -> tuple[list[str], np.ndarray]:
    """The region names of a nationality and each one's share of its population (sums to 1)."""
    found = country(nationality).regions
    population = np.array([region.population_k for region in found], dtype=np.float64)
    return [region.name for region in found], population / population.sum()
