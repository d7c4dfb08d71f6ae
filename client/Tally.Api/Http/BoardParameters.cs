using Microsoft.AspNetCore.Http.HttpResults;
using Tally.Domain;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Postgres.Tenants;

namespace Tally.Api.Http;

/// <summary>
/// Parses the board, rollup and ratio query parameters (<c>scope</c>, <c>period</c>, <c>key</c>) against the
/// tenant's config, once for every endpoint: each bad parameter is a 400 naming it.
/// </summary>
internal static class BoardParameters
{
    public enum Kind { Leaderboard, Rollup }

    public static (BoardKey Key, BadRequest<ErrorBody>? Error) Parse(LoadedTenant tenant, Kind kind, string measure, string? scope, string? period, string? key, DateOnly today)
    {
        var plan = tenant.Plan;
        var config = tenant.Config;
        var what = kind == Kind.Leaderboard ? "leaderboards" : "rollups";
        if (!BoardKey.TryParseScope(scope ?? BoardKey.Global, out var dimension, out var value))
            return (default, ApiError.BadRequest("invalid_scope", "scope must be 'global' or 'dimension:value', e.g. country:US.", "scope"));
        if (dimension != BoardKey.Global && !config.Dimensions.Contains(dimension))
            return (default, ApiError.BadRequest("unknown_scope", $"'{JsonText.Printable(dimension)}' is not a declared dimension.", "scope"));
        if (dimension != BoardKey.Global && !EventValidator.IsPossibleDimValue(dimension, value))
            return (default, ApiError.BadRequest("invalid_scope", dimension == "country"
                ? "A country scope takes an ISO 3166-1 alpha-2 code in upper case, e.g. country:US."
                : $"A {dimension} value is 1 to {EventValidator.MaxDimValueLength} characters.", "scope"));
        var scopeConfigured = kind == Kind.Leaderboard ? plan.IsBoardScope(dimension) : plan.IsRollupScope(dimension);
        if (!scopeConfigured)
            return (default, ApiError.BadRequest("scope_not_configured", $"The tenant's {what} are not kept for scope '{dimension}'.", "scope"));

        var (periodKind, periodKey, periodError) = ParsePeriod(tenant, kind, period, key, today);
        if (periodError is not null) return (default, periodError);
        return (new BoardKey(measure, dimension, value, periodKind, periodKey), null);
    }

    /// <summary>The <c>period</c> and <c>key</c> parameters: a period the tenant keeps for this kind, and one of its instances (default: today's).</summary>
    public static (PeriodKind Period, int Key, BadRequest<ErrorBody>? Error) ParsePeriod(LoadedTenant tenant, Kind kind, string? period, string? key, DateOnly today)
    {
        var plan = tenant.Plan;
        var what = kind == Kind.Leaderboard ? "leaderboards" : "rollups";
        PeriodKind periodKind;
        if (period is null)
            periodKind = DefaultPeriod(plan, kind);
        else if (!Periods.TryParseName(period, out periodKind))
            return (default, default, ApiError.BadRequest("invalid_period", "period must be one of all_time, year, month, week, day.", "period"));
        var periodConfigured = kind == Kind.Leaderboard ? plan.IsBoardPeriod(periodKind) : plan.IsRollupPeriod(periodKind);
        if (!periodConfigured)
            return (default, default, ApiError.BadRequest("period_not_configured", $"The tenant's {what} are not kept for period '{Periods.Name(periodKind)}'.", "period"));

        int periodKey;
        if (key is null) periodKey = Periods.KeyOf(periodKind, today);
        else if (!Periods.TryParseKey(periodKind, key, out periodKey))
            return (default, default, ApiError.BadRequest("invalid_key", $"key '{JsonText.Printable(key)}' is not a key of period '{Periods.Name(periodKind)}', like {Example(periodKind)}.", "key"));
        return (periodKind, periodKey, null);
    }

    /// <summary>An optional integer parameter (already parsed by the framework) within [min, max].</summary>
    public static (int Value, BadRequest<ErrorBody>? Error) Range(int? value, string name, int fallback, int min, int max)
    {
        if (value is null) return (fallback, null);
        if (value < min || value > max)
            return (0, ApiError.BadRequest("invalid_" + name, $"{name} must be an integer from {min} to {max:N0}.", name));
        return (value.Value, null);
    }

    /// <summary>An optional number parameter (a JSON-style decimal, e.g. <c>0.4</c>); at least <paramref name="atLeast"/> when given.</summary>
    public static (decimal? Value, BadRequest<ErrorBody>? Error) Number(string? text, string name, decimal? atLeast = null)
    {
        if (text is null) return (null, null);
        if (!decimal.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign | System.Globalization.NumberStyles.AllowDecimalPoint,
                System.Globalization.CultureInfo.InvariantCulture, out var value))
            return (null, ApiError.BadRequest("invalid_" + name, $"{name} must be a number, like 0.4.", name));
        if (value < atLeast)
            return (null, ApiError.BadRequest("invalid_" + name, $"{name} must be at least {atLeast}.", name));
        return (value, null);
    }

    /// <summary>The <c>order</c> parameter: <c>asc</c> (default <paramref name="descendingByDefault"/> false) or <c>desc</c>; true for descending.</summary>
    public static (bool Descending, BadRequest<ErrorBody>? Error) Order(string? text, bool descendingByDefault = false) => text switch
    {
        null => (descendingByDefault, null),
        "asc" => (false, null),
        "desc" => (true, null),
        _ => (false, ApiError.BadRequest("invalid_order", "order must be asc or desc.", "order")),
    };

    private static PeriodKind DefaultPeriod(BoardPlan plan, Kind kind)
    {
        var configured = kind == Kind.Leaderboard ? plan.IsBoardPeriod(PeriodKind.AllTime) : plan.IsRollupPeriod(PeriodKind.AllTime);
        if (configured) return PeriodKind.AllTime;
        foreach (var p in Enum.GetValues<PeriodKind>())
            if (kind == Kind.Leaderboard ? plan.IsBoardPeriod(p) : plan.IsRollupPeriod(p)) return p;
        return PeriodKind.AllTime;
    }

    private static string Example(PeriodKind kind) => kind switch
    {
        PeriodKind.AllTime => "all_time",
        PeriodKind.Year => "2025",
        PeriodKind.Month => "2025-11",
        PeriodKind.Week => "2025-W47",
        _ => "2025-11-22",
    };
}
