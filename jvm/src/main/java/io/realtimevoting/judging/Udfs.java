package io.realtimevoting.judging;

import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF3;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;

/**
 * A UDF of this package as a column function, typed by the interface it implements.
 *
 * <p>One method, so py4j has no overload to choose: among functions.udf's, it may pick the
 * untyped udf(Object, DataType), which Spark refuses. A column function needs no name in a
 * session's catalog, so a streaming query's own clone of the session can use one built later.
 */
public final class Udfs {
  private Udfs() {}

  public static UserDefinedFunction typed(Object function, DataType returns) {
    if (function instanceof UDF1<?, ?> one) {
      return functions.udf(one, returns);
    }
    if (function instanceof UDF3<?, ?, ?, ?> three) {
      return functions.udf(three, returns);
    }
    throw new IllegalArgumentException(function.getClass() + " is not a UDF1 or a UDF3");
  }
}
