using Microsoft.AspNetCore.Http.HttpResults;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Contracts;
using Tally.Domain;
using Tally.Domain.Boards;
using Tally.Domain.Goals;
using Tally.Domain.Time;
using Tally.Postgres.Goals;

namespace Tally.Api.Endpoints;

/// <summary><c>GET /v1/goals/{goal_id}</c>: how many users completed each level of one instance of a goal: for the open
/// instance, counted by the board shards from each user's level there (as rollups are); for an ended one, from the
/// recorded completions (an index range of that instance).</summary>
internal static class GoalsApi
{
    public static IEndpointRouteBuilder MapGoalsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/goals/{goal_id}", GetLevels).WithTags("Goals").WithName("GetGoalLevels").RequireAuthorization(TallyPolicies.Read)
           .WithReadDeadline().ProducesErrors(400, 401, 403, 404, 429, 503)
           .WithSummary("Users per level of one instance of a goal")
           .WithDescription("key: the instance (all_time, 2026, 2026-12, 2026-W49, 2026-12-06 by the goal's window; default the current one). " +
                            "Not for goals on the checkpoint window, whose instances are each user's own. 404 for an unknown goal.");
        return app;
    }

    internal sealed record Services(IClusterClient Cluster, GoalStore Store, TallyClock Clock);

    private static async Task<Results<Ok<GoalLevelsResponse>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetLevels(
        string goal_id, string? key, TenantScope scope, [AsParameters] Services services)
    {
        var tenant = scope.Tenant;
        if (tenant.Plan.Goals.Find(goal_id) is not { } rule)
            return ApiError.NotFound("goal_not_found", $"The tenant has no goal '{JsonText.Printable(goal_id)}'.");
        if (rule.IsCheckpoint)
            return ApiError.BadRequest("checkpoint_goal",
                $"Goal '{goal_id}' counts in each user's own checkpoint window: its instances are per user (GET /v1/users/{{user_id}}/goals).", "goal_id");
        var today = tenant.Calendar.LocalDate(services.Clock.UtcNow);
        int periodKey;
        if (key is null) periodKey = Periods.KeyOf(rule.Period, today);
        else if (!Periods.TryParseKey(rule.Period, key, out periodKey))
            return ApiError.BadRequest("invalid_key", $"key '{JsonText.Printable(key)}' is not a key of the goal's window '{rule.WindowName}'.", "key");
        var windowKey = Periods.FormatKey(rule.Period, periodKey);

        long[] completed;
        if (Periods.IsClosed(rule.Period, periodKey, today))
        {
            // Ended instances are no longer counted by the shards: their recorded completions are final but for late events.
            var stored = await services.Store.CountLevelsAsync(tenant.TenantId, rule.Id, windowKey);
            completed = Enumerable.Range(1, rule.Targets.Length).Select(level => stored.GetValueOrDefault(level)).ToArray();
        }
        else
        {
            var members = await services.Cluster.Grain<IBoardQueryGrain>(WorkerKeys.Next()).GoalLevels(tenant.TenantId, tenant.Version, rule.CellKey(periodKey));
            completed = members is null ? new long[rule.Targets.Length] : GoalLevels.Completed(members, rule.Targets.Length);
        }
        return TypedResults.Ok(new GoalLevelsResponse(rule.Id, windowKey,
            rule.Targets.Select((target, i) => new GoalLevelCount(i + 1, target, completed[i])).ToArray()));
    }
}
