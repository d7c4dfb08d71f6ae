using System.Globalization;
using Microsoft.Extensions.Options;
using Tally.Api.Auth;
using Tally.Api.Hosting;
using Tally.Api.Http;
using Tally.Contracts;
using Tally.Domain.Time;
using Tally.Domain.Events;

namespace Tally.Api.Endpoints;

/// <summary><c>GET /v1/users/{user_id}/stats</c>: read-your-writes from the user's grain.</summary>
internal static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/users/{user_id}/stats", GetStats).WithTags("Users").WithName("GetUserStats")
           .WithSummary("A user's totals, period sums, streak; ?at=YYYY-MM-DD reads another day's periods.");
        return app;
    }

    private static async Task<IResult> GetStats(string user_id, string? at, HttpRequest request, ApiKeyAuthenticator auth,
        IClusterClient cluster, TallyClock clock, IOptions<ApiOptions> options, CancellationToken ct)
    {
        var (tenant, authError) = await auth.AuthorizeTenantAsync(request, "read", "read stats", ct);
        if (tenant is null) return authError!;
        if (user_id.Length is 0 or > EventValidator.MaxUserIdLength)
            return ApiError.BadRequest("invalid_length", $"user_id must be 1 to {EventValidator.MaxUserIdLength} characters.", "user_id");

        var today = tenant.Calendar.LocalDate(clock.UtcNow);
        var day = today;
        if (at is not null)
        {
            if (!DateOnly.TryParseExact(at, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day))
                return ApiError.BadRequest("invalid_date", "at must be a date like 2025-10-01.", "at");
            if (day > today)
                return ApiError.BadRequest("at_out_of_range", "at is after today in the tenant's time zone.", "at");
            if (day.DayNumber < today.DayNumber - options.Value.DailyBucketDays)
                return ApiError.BadRequest("at_out_of_range", $"Daily data is kept for {options.Value.DailyBucketDays} days; at is older.", "at");
        }

        UserStatsSnapshot? stats;
        try
        {
            stats = await cluster.GetGrain<IUserGrain>(UserKey.Format(tenant.TenantId, user_id)).GetStats(tenant.Version, day.DayNumber);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ApiError.Status(503, "unavailable", "The cluster could not answer; retry shortly.");
        }
        if (stats is null) return ApiError.NotFound("user_not_found", $"User '{user_id}' has no events.");

        var measures = new Dictionary<string, MeasureBody>(stats.Measures.Count);
        foreach (var (name, m) in stats.Measures)
            measures[name] = new MeasureBody(m.AllTime, m.Year, m.Month, m.Week, m.Day, m.Actions);
        var body = new StatsBody(
            user_id,
            stats.Actions,
            stats.LastActionDayNumber is { } n ? TenantCalendar.FormatDay(DateOnly.FromDayNumber(n)) : null,
            measures,
            new StreakBody(stats.CurrentStreak, stats.LongestStreak),
            stats.Ranks ?? new(),
            new PeriodKeys(TenantCalendar.FormatDay(day), TenantCalendar.FormatWeek(TenantCalendar.WeekKey(day)),
                TenantCalendar.FormatMonth(TenantCalendar.MonthKey(day)), TenantCalendar.FormatYear(day.Year)));
        return Results.Json(body, ApiJson.Options);
    }

    // ranks: measure → scope (global, or a dimension: the value of the user's latest event) → period → rank.
    private sealed record StatsBody(string UserId, long Actions, string? LastActionDate, Dictionary<string, MeasureBody> Measures, StreakBody Streak,
        Dictionary<string, Dictionary<string, Dictionary<string, long>>> Ranks, PeriodKeys Periods);

    private sealed record MeasureBody(decimal AllTime, decimal Year, decimal Month, decimal Week, decimal Day, long Actions);

    private sealed record StreakBody(int Current, int Longest);

    private sealed record PeriodKeys(string Day, string Week, string Month, string Year);
}
