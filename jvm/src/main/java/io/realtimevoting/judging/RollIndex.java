package io.realtimevoting.judging;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;

/**
 * The roll as a lookup: voter_id -> home (address_state, county_fips), read once per roll and
 * broadcast, so a micro-batch finds its voters without joining the whole roll.
 *
 * <p>A voter_id in the canonical UUID text (36 characters, lowercase hex, dashes at 8, 13, 18
 * and 23), as the generator and randomuser.me give them, is kept as its 128 bits in an
 * open-addressing table; that text and those bits map one to one, so the lookup is exact. Any
 * other id is kept as text in a hash map.
 */
public final class RollIndex implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String[] states; // home number -> address_state (may be null)
  private final String[] counties; // home number -> county_fips (may be null)
  private final long[] high;
  private final long[] low;
  private final int[] uuidHome;
  private final int[] slots; // row + 1 in high/low/uuidHome, 0 for an empty slot
  private final Map<String, Integer> others;

  private RollIndex(
      String[] states,
      String[] counties,
      long[] high,
      long[] low,
      int[] uuidHome,
      Map<String, Integer> others) {
    this.states = states;
    this.counties = counties;
    this.high = high;
    this.low = low;
    this.uuidHome = uuidHome;
    this.others = others;
    int capacity = Integer.highestOneBit(Math.max(4, high.length * 2 - 1)) << 1;
    this.slots = new int[capacity];
    for (int row = 0; row < high.length; row++) {
      int slot = slot(high[row], low[row]);
      while (slots[slot] != 0) {
        slot = (slot + 1) & (slots.length - 1);
      }
      slots[slot] = row + 1;
    }
  }

  /** The index of rows (voter_id, address_state, county_fips); a voter_id is unique on a roll. */
  public static RollIndex of(Iterator<Row> rows) {
    Map<List<String>, Integer> homeNumbers = new HashMap<>();
    List<String> states = new ArrayList<>();
    List<String> counties = new ArrayList<>();
    long[] high = new long[1 << 16];
    long[] low = new long[1 << 16];
    int[] uuidHome = new int[1 << 16];
    int uuids = 0;
    Map<String, Integer> others = new HashMap<>();
    long[] bits = new long[2];
    while (rows.hasNext()) {
      Row row = rows.next();
      String voterId = row.getString(0);
      if (voterId == null) {
        continue; // never on a roll (its primary key); nobody could be found by it
      }
      List<String> home = Arrays.asList(row.getString(1), row.getString(2));
      Integer number = homeNumbers.get(home);
      if (number == null) {
        number = states.size();
        homeNumbers.put(home, number);
        states.add(home.get(0));
        counties.add(home.get(1));
      }
      if (uuidBits(voterId, bits)) {
        if (uuids == high.length) {
          high = Arrays.copyOf(high, uuids * 2);
          low = Arrays.copyOf(low, uuids * 2);
          uuidHome = Arrays.copyOf(uuidHome, uuids * 2);
        }
        high[uuids] = bits[0];
        low[uuids] = bits[1];
        uuidHome[uuids++] = number;
      } else {
        others.put(voterId, number);
      }
    }
    return new RollIndex(
        states.toArray(new String[0]),
        counties.toArray(new String[0]),
        Arrays.copyOf(high, uuids),
        Arrays.copyOf(low, uuids),
        Arrays.copyOf(uuidHome, uuids),
        others);
  }

  /** The home number of a voter_id, or -1: not on the roll. */
  public int home(String voterId) {
    if (voterId == null) {
      return -1;
    }
    long[] bits = new long[2];
    if (!uuidBits(voterId, bits)) {
      Integer number = others.get(voterId);
      return number == null ? -1 : number;
    }
    int slot = slot(bits[0], bits[1]);
    for (int row = slots[slot]; row != 0; row = slots[slot]) {
      if (high[row - 1] == bits[0] && low[row - 1] == bits[1]) {
        return uuidHome[row - 1];
      }
      slot = (slot + 1) & (slots.length - 1);
    }
    return -1;
  }

  public String state(int home) {
    return states[home];
  }

  public String county(int home) {
    return counties[home];
  }

  /** How many voters the roll holds (each voter_id once: the roll's primary key). */
  public int size() {
    return high.length + others.size();
  }

  /**
   * The distinct homes, each field "length:text" ("-1:" for none, the length in code points, as
   * Python counts), state then county.
   */
  public String homes() {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < states.length; i++) {
      field(text, states[i]);
      field(text, counties[i]);
    }
    return text.toString();
  }

  private static void field(StringBuilder text, String value) {
    text.append(value == null ? -1 : value.codePointCount(0, value.length())).append(':');
    if (value != null) {
      text.append(value);
    }
  }

  private int slot(long high, long low) {
    long h = high * 0x9E3779B97F4A7C15L ^ low;
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return (int) h & (slots.length - 1);
  }

  /** The 128 bits of canonical UUID text into bits; false for any other text. */
  static boolean uuidBits(String id, long[] bits) {
    if (id.length() != 36) {
      return false;
    }
    long high = 0;
    long low = 0;
    int digits = 0;
    for (int i = 0; i < 36; i++) {
      char c = id.charAt(i);
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (c != '-') {
          return false;
        }
        continue;
      }
      int value;
      if (c >= '0' && c <= '9') {
        value = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        value = c - 'a' + 10;
      } else {
        return false;
      }
      if (digits++ < 16) {
        high = high << 4 | value;
      } else {
        low = low << 4 | value;
      }
    }
    bits[0] = high;
    bits[1] = low;
    return true;
  }
}
