using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Tally.Api.Auth;
using Tally.Api.Hosting;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Contracts;
using Tally.Domain.Events;
using Tally.Domain.Time;

namespace Tally.Api.Endpoints;

/// <summary>A user's stats (read-your-writes from the user's grain).</summary>
internal static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/users").WithTags("Users").ProducesErrors(400, 401, 403, 404, 429, 503);
        group.MapGet("/{user_id}/stats", GetStats).WithName("GetUserStats").WithReadDeadline().RequireAuthorization(TallyPolicies.Read)
             .WithSummary("A user's totals, period sums, streak, ranks, ratios and checkpoint")
             .WithDescription("Periods are the current ones in the tenant's time zone; at=YYYY-MM-DD reads another day's periods where the data is kept.");
        group.MapGet("/{user_id}/tiers", GetTiers).WithName("GetUserTiers").WithReadDeadline().RequireAuthorization(TallyPolicies.Read)
             .WithSummary("A user's tier history, oldest first")
             .WithDescription("offset ≥ 0, limit 1-1000 (default 100). 404 for a user with no events or a tenant without checkpoint.");
        group.MapGet("/{user_id}/goals", GetGoals).WithName("GetUserGoals").RequireAuthorization(TallyPolicies.Read).WithReadDeadline()
             .WithSummary("A user's goal completions, by completed_at, then goal, then level")
             .WithDescription("offset ≥ 0, limit 1-1000 (default 100). 404 for a user with no events.");
        group.MapDelete("/{user_id}", Delete).WithName("DeleteUser").RequireAuthorization(TallyPolicies.TenantAdmin)
             .WithSummary("Remove a user from every board, rollup, ratio and summary")
             .WithDescription("Tenant admin key. 204 once the removal is durable and the user's board shard has dropped the user; the user then reads 404. " +
                              "The log keeps the user's events as the audit trail; events sent later count afresh. 404 for a user with no events.");
        return app;
    }

    private static async Task<Results<NoContent, BadRequest<ErrorBody>, NotFound<ErrorBody>, JsonHttpResult<ErrorBody>>> Delete(
        string user_id, TenantScope scope, IClusterClient cluster, HttpContext context)
    {
        var tenant = scope.Tenant;
        if (BadUserId(user_id) is { } idError) return idError;
        var grain = cluster.Grain<IUserGrain>(UserKey.Format(tenant.TenantId, user_id));
        var outcome = await grain.Erase();
        // A superseded activation changed nothing and deactivated: the second call reaches the live one.
        if (outcome == EraseOutcome.Moved) outcome = await grain.Erase();
        if (outcome == EraseOutcome.Moved) context.Response.Headers.RetryAfter = "1";
        return outcome switch
        {
            EraseOutcome.Erased => TypedResults.NoContent(),
            EraseOutcome.NotFound => ApiError.NotFound("user_not_found", $"User '{user_id}' has no events."),
            _ => ApiError.Status(StatusCodes.Status503ServiceUnavailable, "unavailable", "The user's grain was moving between silos; retry."),
        };
    }

    private static async Task<Results<Ok<StatsResponse>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetStats(
        string user_id, string? at, TenantScope scope, IClusterClient cluster, TallyClock clock, IOptions<ApiOptions> options)
    {
        var tenant = scope.Tenant;
        if (BadUserId(user_id) is { } idError) return idError;
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

        var stats = await cluster.Grain<IUserGrain>(UserKey.Format(tenant.TenantId, user_id)).GetStats(tenant.Version, day.DayNumber);
        if (stats is null) return ApiError.NotFound("user_not_found", $"User '{user_id}' has no events.");

        var measures = new Dictionary<string, MeasureStats>(stats.Measures.Count);
        foreach (var (name, m) in stats.Measures)
            measures[name] = new MeasureStats(m.AllTime, m.Year, m.Month, m.Week, m.Day, m.Actions);
        var zone = tenant.Calendar.Zone;
        return TypedResults.Ok(new StatsResponse(
            user_id,
            stats.Actions,
            stats.LastActionDayNumber is { } n ? TenantCalendar.FormatDay(DateOnly.FromDayNumber(n)) : null,
            measures,
            new StreakStats(stats.CurrentStreak, stats.LongestStreak),
            stats.Ranks ?? new(),
            stats.Ratios?.ToDictionary(r => r.Key, r => new RatioPeriods(r.Value.AllTime, r.Value.Year, r.Value.Month, r.Value.Week, r.Value.Day)),
            stats.Checkpoint is { } c
                ? new CheckpointStats(c.Tier, TimeZoneInfo.ConvertTime(c.TierAchievedAt, zone), TimeZoneInfo.ConvertTime(c.NextCheckpointAt, zone), c.Window, c.LateEvents)
                : null,
            new PeriodKeys(TenantCalendar.FormatDay(day), TenantCalendar.FormatWeek(TenantCalendar.WeekKey(day)),
                TenantCalendar.FormatMonth(TenantCalendar.MonthKey(day)), TenantCalendar.FormatYear(day.Year)),
            stats.Goals?.ToDictionary(g => g.Goal, g => new GoalStats(g.WindowKey, g.Progress, g.Level, g.NextTarget))));
    }

    private static async Task<Results<Ok<GoalHistory>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetGoals(
        string user_id, [AsParameters] TiersQuery query, TenantScope scope, IClusterClient cluster)
    {
        var tenant = scope.Tenant;
        if (BadUserId(user_id) is { } idError) return idError;
        var (from, offsetError) = BoardParameters.Range(query.Offset, "offset", 0, 0, int.MaxValue - BoardsApi.MaxLimit);
        if (offsetError is not null) return offsetError;
        var (take, limitError) = BoardParameters.Range(query.Limit, "limit", 100, 1, BoardsApi.MaxLimit);
        if (limitError is not null) return limitError;
        var page = await cluster.Grain<IUserGrain>(UserKey.Format(tenant.TenantId, user_id)).GetGoals(tenant.Version, from, take);
        if (page is null) return ApiError.NotFound("user_not_found", $"User '{user_id}' has no events.");
        var zone = tenant.Calendar.Zone;
        return TypedResults.Ok(new GoalHistory(user_id, page.Total, page.Entries.Select(e =>
            new GoalHistoryEntry(e.Goal, e.Level, e.Target, e.WindowKey, TimeZoneInfo.ConvertTime(e.CompletedAt, zone), e.Value)).ToArray()));
    }

    /// <summary>A page of a user's history (tiers, goals).</summary>
    internal sealed record TiersQuery([FromQuery(Name = "offset")] int? Offset, [FromQuery(Name = "limit")] int? Limit);

    private static async Task<Results<Ok<TierHistory>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetTiers(
        string user_id, [AsParameters] TiersQuery query, TenantScope scope, IClusterClient cluster)
    {
        var tenant = scope.Tenant;
        if (BadUserId(user_id) is { } idError) return idError;
        var (from, offsetError) = BoardParameters.Range(query.Offset, "offset", 0, 0, int.MaxValue - BoardsApi.MaxLimit);
        if (offsetError is not null) return offsetError;
        var (take, limitError) = BoardParameters.Range(query.Limit, "limit", 100, 1, BoardsApi.MaxLimit);
        if (limitError is not null) return limitError;
        if (tenant.Checkpoints is null)
            return ApiError.NotFound("checkpoint_not_configured", "The tenant has no checkpoint config, so users have no tiers.");
        var page = await cluster.Grain<IUserGrain>(UserKey.Format(tenant.TenantId, user_id)).GetTiers(tenant.Version, from, take);
        if (page is null) return ApiError.NotFound("user_not_found", $"User '{user_id}' has no events.");
        var zone = tenant.Calendar.Zone;
        DateTimeOffset Local(DateTimeOffset instant) => TimeZoneInfo.ConvertTime(instant, zone);
        return TypedResults.Ok(new TierHistory(user_id, page.Total, page.Entries.Select(e =>
            new TierHistoryEntry(Local(e.At), e.Reason, e.From, e.To, Local(e.WindowStart), Local(e.WindowEnd), e.Window)).ToArray()));
    }

    /// <summary>A user id in a path: what an event's user_id may be.</summary>
    internal static BadRequest<ErrorBody>? BadUserId(string userId) =>
        userId.Length is 0 or > EventValidator.MaxUserIdLength || userId.Contains('\0')
            ? ApiError.BadRequest("invalid_user_id", $"user_id must be 1 to {EventValidator.MaxUserIdLength} characters.", "user_id")
            : null;
}
