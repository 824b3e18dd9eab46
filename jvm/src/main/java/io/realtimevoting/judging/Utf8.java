package io.realtimevoting.judging;

/** Well-formed UTF-8 as the Unicode standard defines it (no overlong form, surrogate or >U+10FFFF). */
final class Utf8 {
  private Utf8() {}

  static boolean valid(byte[] v) {
    int i = 0;
    while (i < v.length) {
      int b = v[i] & 0xff;
      if (b < 0x80) {
        i++;
        continue;
      }
      int more;
      int low = 0x80;
      int high = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) {
        more = 1;
      } else if (b >= 0xe0 && b <= 0xef) {
        more = 2;
        low = b == 0xe0 ? 0xa0 : 0x80;
        high = b == 0xed ? 0x9f : 0xbf;
      } else if (b >= 0xf0 && b <= 0xf4) {
        more = 3;
        low = b == 0xf0 ? 0x90 : 0x80;
        high = b == 0xf4 ? 0x8f : 0xbf;
      } else {
        return false;
      }
      if (i + more >= v.length) {
        return false; // cut short
      }
      int second = v[i + 1] & 0xff;
      if (second < low || second > high) {
        return false;
      }
      for (int j = 2; j <= more; j++) {
        int next = v[i + j] & 0xff;
        if (next < 0x80 || next > 0xbf) {
          return false;
        }
      }
      i += more + 1;
    }
    return true;
  }
}
