namespace Tally.Domain.Boards;

/// <summary>
/// Names one board or rollup instance of a tenant: measure, scope (<c>global</c> or a dimension
/// and its value) and period instance. A user's score on it is the sum of that user's events that
/// carry the measure, fall in the period and, for a dimension scope, carry that dimension value.
/// </summary>
public readonly record struct BoardKey(string Measure, string Dimension, string Value, PeriodKind Period, int PeriodKey)
{
    public const string Global = "global";

    public bool IsGlobal => Dimension == Global;

    /// <summary><c>global</c> or <c>country:US</c>, as in the API's <c>scope</c> parameter.</summary>
    public string ScopeText => IsGlobal ? Global : Dimension + ":" + Value;

    public string PeriodKeyText => Periods.FormatKey(Period, PeriodKey);

    /// <summary>A stable text form for storage and cache keys: <c>measure|scope|period|key</c>.</summary>
    public override string ToString() => $"{Measure}|{ScopeText}|{Periods.Name(Period)}|{PeriodKeyText}";

    /// <summary>The rollup key of the seed's <c>global_stats_rollup</c>: <c>global_all_time</c>, <c>country_US_2025</c>.</summary>
    public string RollupKey => (IsGlobal ? Global : Dimension + "_" + Value) + "_" + PeriodKeyText;

    /// <summary>Parses the API's <c>scope</c> parameter: <c>global</c> or <c>dimension:value</c>.</summary>
    public static bool TryParseScope(string? text, out string dimension, out string value)
    {
        dimension = value = "";
        if (string.IsNullOrEmpty(text)) return false;
        if (text == Global)
        {
            dimension = Global;
            return true;
        }
        var colon = text.IndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) return false;
        dimension = text[..colon];
        value = text[(colon + 1)..];
        return true;
    }

    public static bool TryParse(string text, out BoardKey key)
    {
        key = default;
        var parts = text.Split('|');
        if (parts.Length != 4 || !TryParseScope(parts[1], out var dim, out var value)
            || !Periods.TryParseName(parts[2], out var period) || !Periods.TryParseKey(period, parts[3], out var periodKey))
            return false;
        key = new BoardKey(parts[0], dim, value, period, periodKey);
        return true;
    }
}
