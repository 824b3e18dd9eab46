package io.realtimevoting.judging;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.apache.kafka.common.utils.Utils;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF3;

/**
 * A message in one of the vote generator's two plain forms, read without a Python worker:
 * (value, key, partitions) -> (form, vote_id, voter_id, candidate_id, selections, placed), or
 * null for any other message, which election.ballots.parse_ballot then judges.
 *
 * <p>The seed's form {"vote_id":"V","voter_id":"K","candidate_id":"C","voting_time":"T"} is form
 * 1; the selections form {"vote_id":"V","voter_id":"K","voting_time":"T","selections":{"c":["a"]}}
 * is form 2, with no contest twice. In both: valid UTF-8, ids of one or more characters without a
 * quote, a backslash or a control character, T a real UTC time yyyy-MM-ddTHH:mm:ss[.f{1,6}]Z in
 * the years 1000-9999, the key equal to the voter_id, nothing after the object. Such a message is
 * well-formed as parse_ballot defines it; the judging property tests hold the two equal. selections
 * is the selections object's text (form 2); placed is the partition Kafka's default partitioner
 * gives the key (null when partitions is).
 */
public final class PlainMessage implements UDF3<byte[], byte[], Integer, Row> {
  private static final long serialVersionUID = 1L;
  public static final int SEED_FORM = 1;
  public static final int SELECTIONS_FORM = 2;

  private static final byte[] VOTE_ID = bytes("{\"vote_id\":\"");
  private static final byte[] VOTER_ID = bytes("\",\"voter_id\":\"");
  private static final byte[] CANDIDATE_ID = bytes("\",\"candidate_id\":\"");
  private static final byte[] VOTING_TIME = bytes("\",\"voting_time\":\"");
  private static final byte[] SEED_END = bytes("\"}");
  private static final byte[] SELECTIONS = bytes("\",\"selections\":{");

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public Row call(byte[] value, byte[] key, Integer partitions) {
    if (value == null || key == null || !Utf8.valid(value) || !starts(value, 0, VOTE_ID)) {
      return null;
    }
    int voteId = VOTE_ID.length;
    int voteEnd = id(value, voteId);
    if (voteEnd < 0 || !starts(value, voteEnd, VOTER_ID)) {
      return null;
    }
    int voterId = voteEnd + VOTER_ID.length;
    int voterEnd = id(value, voterId);
    if (voterEnd < 0 || !same(value, voterId, voterEnd, key)) {
      return null;
    }
    int form;
    String candidate = null;
    String selections = null;
    if (starts(value, voterEnd, CANDIDATE_ID)) {
      int candidateId = voterEnd + CANDIDATE_ID.length;
      int candidateEnd = id(value, candidateId);
      if (candidateEnd < 0 || !starts(value, candidateEnd, VOTING_TIME)) {
        return null;
      }
      int timeEnd = time(value, candidateEnd + VOTING_TIME.length);
      if (timeEnd < 0 || timeEnd + SEED_END.length != value.length
          || !starts(value, timeEnd, SEED_END)) {
        return null;
      }
      form = SEED_FORM;
      candidate = text(value, candidateId, candidateEnd);
    } else if (starts(value, voterEnd, VOTING_TIME)) {
      int timeEnd = time(value, voterEnd + VOTING_TIME.length);
      if (timeEnd < 0 || !starts(value, timeEnd, SELECTIONS)) {
        return null;
      }
      int object = timeEnd + SELECTIONS.length - 1; // its "{"
      int objectEnd = selections(value, object);
      if (objectEnd < 0 || objectEnd + 2 != value.length || value[objectEnd + 1] != '}') {
        return null;
      }
      form = SELECTIONS_FORM;
      selections = text(value, object, objectEnd + 1);
    } else {
      return null;
    }
    Integer placed = null;
    if (partitions != null && partitions > 0) {
      placed = Utils.toPositive(Utils.murmur2(key)) % partitions;
    }
    return RowFactory.create(
        form, text(value, voteId, voteEnd), text(value, voterId, voterEnd), candidate, selections,
        placed);
  }

  private static String text(byte[] value, int from, int to) {
    return new String(value, from, to - from, StandardCharsets.UTF_8);
  }

  private static boolean starts(byte[] value, int at, byte[] prefix) {
    if (at < 0 || at + prefix.length > value.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (value[at + i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean same(byte[] value, int from, int to, byte[] key) {
    if (to - from != key.length) {
      return false;
    }
    for (int i = 0; i < key.length; i++) {
      if (value[from + i] != key[i]) {
        return false;
      }
    }
    return true;
  }

  /** The end of an id starting at `at` (its closing quote), or -1 (empty, or a banned byte). */
  private static int id(byte[] value, int at) {
    int i = at;
    while (i < value.length) {
      byte b = value[i];
      if (b == '"') {
        return i == at ? -1 : i;
      }
      if (b == '\\' || (b >= 0 && b < 0x20)) {
        return -1;
      }
      i++;
    }
    return -1;
  }

  /**
   * The selections object from its "{" at `at`: {"c":["a","b"],"d":[]}, no contest twice; the end
   * of the object (its closing "}"), or -1.
   */
  private static int selections(byte[] value, int at) {
    int i = at + 1;
    if (i < value.length && value[i] == '}') {
      return i;
    }
    Set<String> contests = new HashSet<>();
    while (true) {
      if (i >= value.length || value[i] != '"') {
        return -1;
      }
      int end = id(value, i + 1);
      if (end < 0 || !contests.add(text(value, i + 1, end))) {
        return -1;
      }
      i = end + 1;
      if (i + 1 >= value.length || value[i] != ':' || value[i + 1] != '[') {
        return -1;
      }
      i += 2;
      if (i < value.length && value[i] == ']') {
        i++;
      } else {
        while (true) {
          if (i >= value.length || value[i] != '"') {
            return -1;
          }
          int stop = id(value, i + 1);
          if (stop < 0 || stop + 1 >= value.length) {
            return -1;
          }
          i = stop + 2;
          if (value[stop + 1] == ']') {
            break;
          }
          if (value[stop + 1] != ',') {
            return -1;
          }
        }
      }
      if (i >= value.length) {
        return -1;
      }
      if (value[i] == '}') {
        return i;
      }
      if (value[i] != ',') {
        return -1;
      }
      i++;
    }
  }

  /** The end of a plain UTC time starting at `at`, past its "Z", or -1: a real date and time. */
  private static int time(byte[] v, int at) {
    if (at + 20 > v.length) {
      return -1;
    }
    int year = digits(v, at, 4);
    int month = digits(v, at + 5, 2);
    int day = digits(v, at + 8, 2);
    int hour = digits(v, at + 11, 2);
    int minute = digits(v, at + 14, 2);
    int second = digits(v, at + 17, 2);
    if (year < 1000 || month < 1 || month > 12 || day < 1 || day > days(year, month)
        || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59
        || v[at + 4] != '-' || v[at + 7] != '-' || v[at + 10] != 'T' || v[at + 13] != ':'
        || v[at + 16] != ':') {
      return -1;
    }
    int i = at + 19;
    if (v[i] == '.') {
      int fraction = 0;
      while (i + 1 + fraction < v.length && digit(v[i + 1 + fraction])) {
        fraction++;
      }
      if (fraction < 1 || fraction > 6) {
        return -1;
      }
      i += 1 + fraction;
    }
    return i < v.length && v[i] == 'Z' && i + 1 < v.length && v[i + 1] == '"' ? i + 1 : -1;
  }

  private static boolean digit(byte b) {
    return b >= '0' && b <= '9';
  }

  /** A run of decimal digits as a number, or -1. */
  private static int digits(byte[] v, int at, int count) {
    int n = 0;
    for (int i = at; i < at + count; i++) {
      if (!digit(v[i])) {
        return -1;
      }
      n = n * 10 + (v[i] - '0');
    }
    return n;
  }

  private static int days(int year, int month) {
    if (month == 2) {
      boolean leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
      return leap ? 29 : 28;
    }
    return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
  }
}
