package io.realtimevoting.judging;

import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;

/**
 * voter_id -> (address_state, county_fips) as the roll has them, or null: not on the roll. The
 * roll comes broadcast (RollIndex), once per roll, to every executor.
 */
public final class RollHome implements UDF1<String, Row> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<RollIndex> roll;

  public RollHome(Broadcast<RollIndex> roll) {
    this.roll = roll;
  }

  @Override
  public Row call(String voterId) {
    RollIndex index = roll.value();
    int home = index.home(voterId);
    return home < 0 ? null : RowFactory.create(index.state(home), index.county(home));
  }
}
