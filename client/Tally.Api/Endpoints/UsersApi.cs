using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Tally.Api.Auth;
using Tally.Api.Hosting;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Contracts;
using Tally.Domain;
using Tally.Domain.Events;
using Tally.Domain.Stats;
using Tally.Domain.Time;
using PeriodKind = Tally.Domain.Boards.PeriodKind;
using Periods = Tally.Domain.Boards.Periods;

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
        group.MapGet("/{user_id}/breakdown/{dimension}", GetBreakdown).WithName("GetUserBreakdown").RequireAuthorization(TallyPolicies.Read).WithReadDeadline()
             .WithSummary("A user's sums per value of a broken-down dimension (a learner's weak areas)")
             .WithDescription("period (default all_time), key (default the current instance), sort=value|ratio:NAME|measure:NAME (default value), " +
                              "order=asc|desc (default asc), min_denominator (default 1; a ratio below it is left out, and so is its value when sorting by it), " +
                              "offset ≥ 0, limit 1-1000 (default 100). 404 for a dimension the tenant does not break down or a user with no events.");
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

    internal sealed record BreakdownQueryParameters(
        [FromQuery(Name = "period")] string? Period, [FromQuery(Name = "key")] string? Key, [FromQuery(Name = "sort")] string? Sort,
        [FromQuery(Name = "order")] string? Order, [FromQuery(Name = "min_denominator")] string? MinDenominator,
        [FromQuery(Name = "offset")] int? Offset, [FromQuery(Name = "limit")] int? Limit);

    private static async Task<Results<Ok<BreakdownResponse>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetBreakdown(
        string user_id, string dimension, [AsParameters] BreakdownQueryParameters query, TenantScope scope, IClusterClient cluster, TallyClock clock)
    {
        var tenant = scope.Tenant;
        if (BadUserId(user_id) is { } idError) return idError;
        if (tenant.Config.Breakdowns?.Contains(dimension) != true)
            return ApiError.NotFound("breakdown_not_found", $"The tenant does not break down '{JsonText.Printable(dimension)}' (config breakdowns).");
        var period = PeriodKind.AllTime;
        if (query.Period is not null && !Periods.TryParseName(query.Period, out period))
            return ApiError.BadRequest("invalid_period", "period must be one of all_time, year, month, week, day.", "period");
        int periodKey;
        if (query.Key is null) periodKey = Periods.KeyOf(period, tenant.Calendar.LocalDate(clock.UtcNow));
        else if (!Periods.TryParseKey(period, query.Key, out periodKey))
            return ApiError.BadRequest("invalid_key", $"key '{JsonText.Printable(query.Key)}' is not a key of period '{Periods.Name(period)}'.", "key");
        var (sort, sortName) = (BreakdownSort.Value, "");
        switch (query.Sort)
        {
            case null or "value": break;
            case { } text when text.StartsWith("ratio:", StringComparison.Ordinal) && tenant.Config.Ratios?.ContainsKey(text[6..]) == true:
                (sort, sortName) = (BreakdownSort.Ratio, text[6..]);
                break;
            case { } text when text.StartsWith("measure:", StringComparison.Ordinal) && tenant.Config.Measures.ContainsKey(text[8..]):
                (sort, sortName) = (BreakdownSort.Measure, text[8..]);
                break;
            default:
                return ApiError.BadRequest("invalid_sort", "sort must be value, ratio:NAME of a declared ratio, or measure:NAME of a declared measure.", "sort");
        }
        var (descending, orderError) = BoardParameters.Order(query.Order);
        if (orderError is not null) return orderError;
        var (minDenominator, denominatorError) = BoardParameters.Number(query.MinDenominator, "min_denominator", atLeast: 0);
        if (denominatorError is not null) return denominatorError;
        var (from, offsetError) = BoardParameters.Range(query.Offset, "offset", 0, 0, int.MaxValue - BoardsApi.MaxLimit);
        if (offsetError is not null) return offsetError;
        var (take, limitError) = BoardParameters.Range(query.Limit, "limit", 100, 1, BoardsApi.MaxLimit);
        if (limitError is not null) return limitError;

        var request = new BreakdownRequest(dimension, period, periodKey, sort, sortName, descending, minDenominator ?? 1, from, take);
        var page = await cluster.Grain<IUserGrain>(UserKey.Format(tenant.TenantId, user_id)).GetBreakdown(tenant.Version, request);
        if (page is null) return ApiError.NotFound("user_not_found", $"User '{user_id}' has no events.");
        return TypedResults.Ok(new BreakdownResponse(user_id, dimension, Periods.Name(period), Periods.FormatKey(period, periodKey), page.Total,
            page.Entries.Select(e => new BreakdownValueEntry(e.Value, e.Measures, e.Actions, e.Ratios)).ToArray()));
    }

    /// <summary>A user id in a path: what an event's user_id may be.</summary>
    internal static BadRequest<ErrorBody>? BadUserId(string userId) =>
        userId.Length is 0 or > EventValidator.MaxUserIdLength || userId.Contains('\0')
            ? ApiError.BadRequest("invalid_user_id", $"user_id must be 1 to {EventValidator.MaxUserIdLength} characters.", "user_id")
            : null;
}
