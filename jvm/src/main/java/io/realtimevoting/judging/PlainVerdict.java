package io.realtimevoting.judging;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF3;

/**
 * The verdict on a plain ballot's selections, (state, county_fips, selections text) -> (outcomes,
 * cells, candidate_id, reason, detail), or null for every other ballot, which the Python pattern
 * judge then judges. cells are the outcomes text's members, one per contest ("id":[...]), so the
 * ledger totals ballots contest by contest without reading the whole text.
 *
 * <p>Plain: the selections text is compact JSON whose ids hold no quote or backslash, no contest
 * is named twice, and no selection is malformed for its contest's kind (a plurality contest or
 * measure names no choice twice, a ranked contest marks no rank past its maxRankingsAllowed). A
 * plain ballot of a voter on no roll (state null) gets an empty verdict: the voter is unknown. One
 * of a home of the spec is not_on_ballot (the least contest off its style, in code points, as
 * Python orders text), else unknown_candidate (the least contest naming a choice not in it), else
 * it counts: its outcomes are the text spark_jobs.selections_judging.PatternJudge gives, built here
 * without a Python worker. The rules stay the domain's (election.counting), the details are its
 * templates (in the spec): whatever this is unsure of is left to it, and the judging property
 * tests hold the two equal.
 *
 * <p>The spec (spark_jobs.jvm_judging.spec) lists the two rejections (each its reason and its
 * detail's text before and after the contest id), the contests, then the homes with their styles,
 * each field as its length in UTF-16 units, a colon and the text.
 */
public final class PlainVerdict implements UDF3<String, String, String, Row> {
  private static final long serialVersionUID = 1L;
  private static final String NATIONAL = "national";
  // a contest's kind in the spec: plurality (or a measure), ranked, or ranked with rules left to
  // the domain
  private static final int PLURALITY = 0;
  private static final int UNSURE = 2;
  // in the spec's rejections: not_on_ballot's reason and detail, then unknown_candidate's
  private static final int NOT_ON_BALLOT = 0;
  private static final int UNKNOWN_CANDIDATE = 3;

  private final String spec;
  private transient Map<String, Style> styles;
  private transient Map<String, Contest> byId; // every contest of the election
  private transient String[] rejections; // each a reason, its detail's text before and after the id

  public PlainVerdict(String spec) {
    this.spec = spec;
  }

  private static final class Contest {
    final String id;
    final String quoted; // the id as JSON text, quotes included
    final int voteFor;
    final boolean ranked;
    final boolean sure; // false: a selection in it is left to the domain
    final int maxRankings; // -1: no limit
    final Set<String> choices;

    Contest(String id, String quoted, int voteFor, int kind, int maxRankings, Set<String> c) {
      this.id = id;
      this.quoted = quoted;
      this.voteFor = voteFor;
      this.ranked = kind != PLURALITY;
      this.sure = kind != UNSURE;
      this.maxRankings = maxRankings;
      this.choices = c;
    }
  }

  /** A home's ballot style: its contests in ballot order, and their ids. */
  private static final class Style {
    final Contest[] contests;
    final Set<String> ids = new HashSet<>();

    Style(Contest[] contests) {
      this.contests = contests;
      for (Contest contest : contests) {
        ids.add(contest.id);
      }
    }
  }

  /** The spec's fields in order: each is "length:text". */
  private static final class Fields {
    private final String text;
    private int at;

    Fields(String text) {
      this.text = text;
    }

    boolean more() {
      return at < text.length();
    }

    String next() {
      int colon = text.indexOf(':', at);
      int length = Integer.parseInt(text.substring(at, colon));
      at = colon + 1 + length;
      return text.substring(colon + 1, at);
    }

    int number() {
      return Integer.parseInt(next());
    }
  }

  static String homeKey(String state, String county) {
    return (state == null ? "-" : "+" + state) + "\u0000" + (county == null ? "-" : "+" + county);
  }

  private Map<String, Style> styles() {
    if (styles == null) {
      Fields fields = new Fields(spec);
      rejections = new String[6];
      for (int i = 0; i < rejections.length; i++) {
        rejections[i] = fields.next();
      }
      byId = new HashMap<>();
      Contest[] contests = new Contest[fields.number()];
      for (int i = 0; i < contests.length; i++) {
        String id = fields.next();
        String quoted = fields.next();
        int voteFor = fields.number();
        int kind = fields.number();
        int maxRankings = fields.number();
        Set<String> choices = new HashSet<>();
        for (int n = fields.number(); n > 0; n--) {
          choices.add(fields.next());
        }
        contests[i] = new Contest(id, quoted, voteFor, kind, maxRankings, choices);
        byId.put(id, contests[i]);
      }
      Map<String, Style> found = new HashMap<>();
      while (fields.more()) {
        String state = fields.number() == 1 ? fields.next() : null;
        String county = fields.number() == 1 ? fields.next() : null;
        Contest[] style = new Contest[fields.number()];
        for (int i = 0; i < style.length; i++) {
          style[i] = contests[fields.number()];
        }
        found.put(homeKey(state, county), new Style(style));
      }
      styles = found;
    }
    return styles;
  }

  @Override
  public Row call(String state, String county, String text) {
    if (text == null) {
      return null;
    }
    Map<String, Style> known = styles();
    Map<String, List<String>> selections = read(text);
    if (selections == null) {
      return null;
    }
    for (Map.Entry<String, List<String>> selection : selections.entrySet()) {
      Contest contest = byId.get(selection.getKey());
      if (contest != null && !wellFormed(contest, selection.getValue())) {
        return null; // malformed for its kind, or a kind whose rules are the domain's
      }
    }
    if (state == null) {
      return RowFactory.create(null, null, null, null, null); // the voter is unknown
    }
    Style home = known.get(homeKey(state, county));
    if (home == null) {
      return null;
    }
    String offStyle = null;
    String unknownChoice = null;
    for (Map.Entry<String, List<String>> selection : selections.entrySet()) {
      String id = selection.getKey();
      if (!home.ids.contains(id)) {
        offStyle = least(offStyle, id);
      } else if (!byId.get(id).choices.containsAll(selection.getValue())) {
        unknownChoice = least(unknownChoice, id);
      }
    }
    if (offStyle != null) {
      return rejected(NOT_ON_BALLOT, offStyle);
    }
    if (unknownChoice != null) {
      return rejected(UNKNOWN_CANDIDATE, unknownChoice);
    }
    Contest[] style = home.contests;
    String[] cells = new String[style.length];
    String national = null;
    StringBuilder out = new StringBuilder(64);
    for (int i = 0; i < style.length; i++) {
      Contest contest = style[i];
      List<String> entries = selections.get(contest.id);
      out.setLength(0);
      out.append(contest.quoted).append(":[");
      int size = entries == null ? 0 : entries.size();
      if (size == 0) {
        out.append("[],0,").append(contest.voteFor);
      } else if (contest.ranked) {
        out.append("[\"").append(entries.get(0)).append("\"],0,0");
        if (contest.id.equals(NATIONAL)) {
          national = entries.get(0);
        }
      } else if (size > contest.voteFor) {
        out.append("[],").append(contest.voteFor).append(",0");
      } else {
        quotedList(out, entries);
        out.append(",0,").append(contest.voteFor - size);
        if (size == 1 && contest.id.equals(NATIONAL)) {
          national = entries.get(0);
        }
      }
      if (contest.ranked) {
        out.append(',');
        quotedList(out, entries == null ? List.of() : entries);
      }
      cells[i] = out.append(']').toString();
    }
    return RowFactory.create("{" + String.join(",", cells) + "}", cells, national, null, null);
  }

  private static void quotedList(StringBuilder out, List<String> ids) {
    out.append('[');
    for (int i = 0; i < ids.size(); i++) {
      if (i > 0) {
        out.append(',');
      }
      out.append('"').append(ids.get(i)).append('"');
    }
    out.append(']');
  }

  private Row rejected(int which, String contestId) {
    String detail = rejections[which + 1] + contestId + rejections[which + 2];
    return RowFactory.create(null, null, null, rejections[which], detail);
  }

  /** The lesser id by code points, as Python compares text (null: none yet). */
  private static String least(String sofar, String id) {
    if (sofar == null) {
      return id;
    }
    int i = 0;
    int j = 0;
    while (i < sofar.length() && j < id.length()) {
      int a = sofar.codePointAt(i);
      int b = id.codePointAt(j);
      if (a != b) {
        return a < b ? sofar : id;
      }
      i += Character.charCount(a);
      j += Character.charCount(b);
    }
    return sofar.length() - i <= id.length() - j ? sofar : id;
  }

  /** Not malformed for its contest's kind (election.selections.kind_error), and sure of it. */
  private static boolean wellFormed(Contest contest, List<String> entries) {
    if (!contest.sure) {
      return false;
    }
    if (contest.ranked) {
      return contest.maxRankings < 0 || entries.size() <= contest.maxRankings;
    }
    return entries.size() <= 1 || new HashSet<>(entries).size() == entries.size();
  }

  /**
   * {"c":["a","b"],"d":[]} as contest -> choices in the text's order; null for any other text (an
   * escape, a contest twice, an empty id, anything after the object).
   */
  static Map<String, List<String>> read(String text) {
    int n = text.length();
    if (n < 2 || text.charAt(0) != '{') {
      return null;
    }
    Map<String, List<String>> found = new HashMap<>();
    int at = 1;
    if (text.charAt(at) == '}') {
      return at + 1 == n ? found : null;
    }
    while (true) {
      int end = id(text, at);
      if (end < 0 || end + 2 >= n || text.charAt(end) != ':' || text.charAt(end + 1) != '[') {
        return null;
      }
      String contest = text.substring(at + 1, end - 1);
      List<String> choices = new ArrayList<>(2);
      at = end + 2;
      if (text.charAt(at) == ']') {
        at++;
      } else {
        while (true) {
          int stop = id(text, at);
          if (stop < 0 || stop >= n) {
            return null;
          }
          choices.add(text.substring(at + 1, stop - 1));
          at = stop + 1;
          if (text.charAt(stop) == ']') {
            break;
          }
          if (text.charAt(stop) != ',') {
            return null;
          }
        }
      }
      if (found.put(contest, choices) != null || at >= n) {
        return null;
      }
      char next = text.charAt(at);
      if (next == '}') {
        return at + 1 == n ? found : null;
      }
      if (next != ',') {
        return null;
      }
      at++;
    }
  }

  /** Past a quoted id starting at `at` ("x", no escape, not empty), or -1. */
  private static int id(String text, int at) {
    if (at >= text.length() || text.charAt(at) != '"') {
      return -1;
    }
    for (int i = at + 1; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"') {
        return i == at + 1 ? -1 : i + 1;
      }
      if (c == '\\' || c < 0x20) {
        return -1;
      }
    }
    return -1;
  }
}
