namespace Tally.Domain.Stats;

/// <summary>The one rule for a ratio's value (API.md, Ratios): the numerator's sum over the denominator's, null where the
/// denominator's sum is 0. A quotient past decimal range (a denominator near 0) is null too, never an overflow.</summary>
public static class RatioRule
{
    public static decimal? Of(decimal numerator, decimal denominator)
    {
        if (denominator == 0) return null;
        try
        {
            return numerator / denominator;
        }
        catch (OverflowException)
        {
            return null;
        }
    }
}
