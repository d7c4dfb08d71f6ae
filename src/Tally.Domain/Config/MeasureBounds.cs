namespace Tally.Domain.Config;

/// <summary>
/// Bounds that keep every sum exact and inside <see cref="decimal"/> range, checked before an event is
/// committed (never after): one value is at most <see cref="MaxAbsValue"/>, one user's sum of a measure
/// in any period at most <see cref="MaxAbsUserSum"/>. A rollup over up to 10 billion users then stays
/// below 10^28, under decimal's 7.9·10^28, with at least 10 fractional digits kept in every user sum.
/// </summary>
public static class MeasureBounds
{
    /// <summary>Largest magnitude of one measure value (and of a configured min or max): 10^12.</summary>
    public const decimal MaxAbsValue = 1_000_000_000_000m;

    /// <summary>Largest magnitude of one user's running sum of one measure: 10^18.</summary>
    public const decimal MaxAbsUserSum = 1_000_000_000_000_000_000m;

    /// <summary>Whether adding <paramref name="value"/> to <paramref name="sum"/> stays within <see cref="MaxAbsUserSum"/>.</summary>
    public static bool FitsUserSum(decimal sum, decimal value)
    {
        var next = sum + value; // cannot overflow: both operands are far below decimal's range
        return next <= MaxAbsUserSum && next >= -MaxAbsUserSum;
    }
}
