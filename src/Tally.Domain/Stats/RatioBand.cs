namespace Tally.Domain.Stats;

/// <summary>One value of a scope with a ratio's sums there: the numerator's and denominator's sums and the users counted.</summary>
public readonly record struct RatioSums(string Value, decimal Numerator, decimal Denominator, long Users)
{
    public decimal? Ratio => RatioRule.Of(Numerator, Denominator);
}

/// <summary>
/// The adaptive-difficulty question (API.md, Breakdowns and ratio values): of every value of a scope, those whose
/// ratio lies in [min, max] (inclusive) with a denominator sum of at least <c>minDenominator</c>, sorted by the ratio
/// (ascending or descending), ties by value in ordinal order. A value whose ratio is undefined (denominator 0) never lies
/// in a band.
/// </summary>
public sealed record RatioBand(decimal? Min, decimal? Max, decimal MinDenominator, bool Descending)
{
    public List<RatioSums> Select(IEnumerable<RatioSums> values)
    {
        var kept = new List<RatioSums>();
        foreach (var v in values)
        {
            if (v.Denominator < MinDenominator || v.Ratio is not { } ratio) continue;
            if (ratio < Min || ratio > Max) continue;
            kept.Add(v);
        }
        kept.Sort((a, b) =>
        {
            var byRatio = a.Ratio!.Value.CompareTo(b.Ratio!.Value);
            if (Descending) byRatio = -byRatio;
            return byRatio != 0 ? byRatio : string.CompareOrdinal(a.Value, b.Value);
        });
        return kept;
    }
}
