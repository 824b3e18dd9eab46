"""What people and streets are called, per nationality: the word lists the offline roll draws from."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class NamePool:
    """First names by gender, family names and street names common in one country."""

    male: tuple[str, ...]
    female: tuple[str, ...]
    family: tuple[str, ...]
    streets: tuple[str, ...]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_US_MALE = _words("""
James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel
Matthew Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian George Timothy
Ronald Jason Edward Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott
Brandon Benjamin Samuel Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron
Jose Adam Nathan Henry Zachary Douglas Peter Kyle Noah Ethan Jeremy Walter Christian Keith
Roger Terry Austin Sean Gerald Carl Harold Dylan Arthur Lawrence Jordan Jesse Bryan Billy
Bruce Gabriel Joe Logan Alan Juan Albert Willie Elijah Wayne Randy Vincent Mason Roy Ralph
Bobby Russell Bradley Philip Eugene Carlos Luis Miguel Andre Darnell Malik Wei Hiroshi Raj
""")
_US_FEMALE = _words("""
Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty
Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie
Dorothy Rebecca Sharon Laura Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela
Nicole Samantha Katherine Christine Helen Debra Rachel Carolyn Janet Maria Catherine Heather
Diane Olivia Julie Joyce Victoria Ruth Virginia Lauren Kelly Christina Joan Evelyn Judith
Andrea Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria Sara Janice Ann Kathryn
Abigail Sophia Frances Jean Alice Judy Isabella Julia Grace Amber Denise Danielle Marilyn
Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Marie Rosa Guadalupe
Keisha Aaliyah Mei Priya Yuki
""")
_US_FAMILY = _words("""
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell
Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson
Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera
Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez
McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns
Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt
Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer
Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant
Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott
Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Ray Berry Perkins Hoffman
Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Wang Yang Singh
""")
_US_STREETS = _words("""
Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Walnut Sunset Lincoln Jackson Church
Highland Meadow Forest River Spring Ridge Valley Cherry Willow Jefferson Franklin Madison
Adams Center Mill Lakeview Hickory Dogwood Railroad Prospect Chestnut Poplar Magnolia Birch
Spruce Sycamore Country Broadway College Airport Harrison Grant Cleveland Monroe Wilson Locust
""")

_GB_MALE = _words("""
Oliver George Harry Jack Jacob Noah Charlie Thomas Oscar William James Henry Leo Alfie Joshua
Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur Lucas Mohammed
Logan Theo Harrison Benjamin Mason Sebastian Finley Adam Dylan Zachary Riley Teddy David
Toby Jake Louie Elliot Luke Callum Lewis Connor Rhys Owen Dafydd Ewan Ian Gareth Neil Simon
""")
_GB_FEMALE = _words("""
Olivia Amelia Isla Ava Emily Isabella Mia Poppy Ella Lily Evie Sophia Grace Sophie Freya
Chloe Ruby Daisy Alice Florence Jessica Phoebe Evelyn Sienna Harriet Matilda Charlotte Millie
Imogen Holly Eleanor Lucy Rosie Scarlett Erin Megan Bethan Ffion Eilidh Niamh Siobhan Kirsty
Hannah Abigail Zara Layla Maisie Harper Esme Elsie Lydia Rebecca Claire Fiona Gemma Joanne
""")
_GB_FAMILY = _words("""
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson
Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner
Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott
Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter
Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson
Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt
Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker
Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson
Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence
Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan
Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory
Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding
Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke
Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman
Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor
Harper Coleman Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter
Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson Rowe Burke May Pritchard
Gilbert Willis Higgins Read Miles Stevenson Stephenson Hammond Arnold Buckley Walters Hewitt
Barber Nelson Slater Austin Sullivan Whitehead Mann Frost Lambert Stephens Blake Akhtar
Lynch Goodwin Barton Woodward Thomson Cunningham Quinn Barnett Baxter Bibi Clayton Nash
Greenwood Jennings Holt Kemp Poole Gallagher Bond Stokes Tucker Davidson Fowler Heath
Norman Middleton Lawson Banks French Stanley Jarvis Gibbs Ferguson Hayward Carroll Douglas
Dickinson Todd Barlow Peters Lucas Knowles Hartley Miah Simmons Morton Alexander Field
Morrison Norris Townsend Preston Hancock Thornton Baldwin Burrows Briggs Storey Pope Parkin
""")
_GB_STREETS = _words("""
High Station Church Victoria Green Manor Park Queens Kings Grange Mill School Chapel New
Windsor Albert Alexander York London Springfield Cedar Beech Ash Orchard Meadow Elm Oak
Richmond Stanley Highfield Broad Mount West North South East Nelson Wellington Castle
""")

_FR_MALE = _words("""
Gabriel Léo Raphaël Arthur Louis Lucas Adam Jules Hugo Maël Liam Noah Paul Ethan Tiago Sacha
Gabin Nathan Mohamed Aaron Tom Éden Théo Noé Mathis Marius Martin Nolan Victor Axel Timéo
Antoine Baptiste Clément Enzo Maxime Alexandre Quentin Thomas Nicolas Julien Romain Pierre
Mathéo Valentin Florian Kylian Mathias Yanis Benjamin Bastien Loïc Rémi Olivier Philippe
""")
_FR_FEMALE = _words("""
Jade Louise Emma Alice Ambre Lina Rose Chloé Mia Léa Anna Mila Julia Romy Lou Inès Léna
Agathe Juliette Iris Zoé Léonie Jeanne Eva Nina Manon Camille Sarah Clara Lucie Margaux
Océane Pauline Mathilde Laura Marine Justine Charlotte Élise Anaïs Maëlys Lola Noémie Capucine
Héloïse Apolline Victoire Garance Salomé Clémence Margot Amandine Céline Isabelle Sophie Nathalie
""")
_FR_FAMILY = _words("""
Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefebvre
Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau
Vincent Muller Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François
Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu Gautier
Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun Blanchard
Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche Renard Schmitt
Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix Olivier
Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland Leclercq Guillaume Lecomte Lopez
Jean Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis Moulin Louis Deschamps Huet Vasseur
""")
_FR_STREETS = (
    "de la République",
    "Victor-Hugo",
    "Jean-Jaurès",
    "de la Paix",
    "du Général-de-Gaulle",
    "Pasteur",
    "de la Gare",
    "des Écoles",
    "du Moulin",
    "de l'Église",
    "Gambetta",
    "Voltaire",
    "Jules-Ferry",
    "de Verdun",
    "du Château",
    "des Lilas",
    "Saint-Michel",
    "de la Mairie",
    "Émile-Zola",
    "du Stade",
)

_DE_MALE = _words("""
Noah Ben Matteo Finn Leon Elias Paul Henry Luis Felix Lukas Emil Jonas Theo Maximilian
Anton Jakob Oskar Liam Moritz Karl Julian Niklas Jan Tim Tobias Sebastian Florian Stefan
Andreas Michael Thomas Markus Christian Alexander Daniel Dennis Philipp Johannes Kevin
Marcel Patrick Dominik Fabian Lars Sven Jens Uwe Jürgen Klaus Wolfgang Dieter Günter Horst
""")
_DE_FEMALE = _words("""
Emilia Emma Hannah Mia Sophia Lina Mila Ella Leni Clara Marie Lea Luisa Frieda Anna Lena
Ida Mathilda Laura Johanna Lara Sarah Julia Lisa Katharina Jana Nina Sabine Petra Claudia
Andrea Stefanie Nicole Anja Melanie Susanne Christina Sandra Kerstin Birgit Ute Monika
Renate Ursula Helga Ingrid Greta Paula Charlotte Amelie Jule Pia Maja Romy Carla
""")
_DE_FAMILY = _words("""
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch
Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann
Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König
Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel
Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht
Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer
Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel
Horn Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer Yilmaz Kaya Nowak
""")
_DE_STREETS = _words("""
Haupt Schul Garten Bahnhof Dorf Berg Kirch Wald Ring Linden Birken Mühlen Schiller Goethe
Feld Wiesen Rosen Friedhof Jahn Buchen Eichen Sonnen Tannen Mozart Beethoven Lessing Uhland
Kant Bach Park Anger
""")

_CA_MALE = _US_MALE[:80] + _FR_MALE[:30]
_CA_FEMALE = _US_FEMALE[:80] + _FR_FEMALE[:30]
_CA_FAMILY = (
    _GB_FAMILY[:140]
    + _FR_FAMILY[:60]
    + _words(
        "Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin Gagné Ouellet Pelletier Bélanger Lévesque Wong Li"
    )
)

_AU_MALE = _GB_MALE + _words("Cooper Jaxon Hudson Lachlan Angus Hamish Bailey Mitchell")
_AU_FEMALE = _GB_FEMALE + _words("Matilda Willow Indie Sienna Ivy Zoe Chelsea Tayla")
_AU_FAMILY = _GB_FAMILY[:200] + _words(
    "Nguyen Tran Le Pham Wang Chen Zhang Liu Papadopoulos Rossi Russo Kelly"
)

POOLS: dict[str, NamePool] = {
    "us": NamePool(_US_MALE, _US_FEMALE, _US_FAMILY, _US_STREETS),
    "gb": NamePool(_GB_MALE, _GB_FEMALE, _GB_FAMILY, _GB_STREETS),
    "fr": NamePool(_FR_MALE, _FR_FEMALE, _FR_FAMILY, _FR_STREETS),
    "de": NamePool(_DE_MALE, _DE_FEMALE, _DE_FAMILY, _DE_STREETS),
    "ca": NamePool(_CA_MALE, _CA_FEMALE, _CA_FAMILY, _GB_STREETS + _US_STREETS[:20]),
    "au": NamePool(_AU_MALE, _AU_FEMALE, _AU_FAMILY, _GB_STREETS),
}


def pool(nationality: str) -> NamePool:
    """The name pool of a nationality (already validated by geography.country)."""
    return POOLS[nationality.strip().lower()]


def email_form(name: str) -> str:
    """A name as it appears in an email address: lower-case ASCII letters and hyphens only."""
    spelled = name.replace("ß", "ss")  # NFKD keeps ß, so it would be dropped below
    ascii_name = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z-]", "", ascii_name.lower())
