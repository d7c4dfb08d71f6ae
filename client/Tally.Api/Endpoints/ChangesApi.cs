using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Postgres.Changes;

namespace Tally.Api.Endpoints;

/// <summary><c>GET /v1/changes</c>: the tenant's ordered feed of tier changes, goal completions and user removals, with an
/// opaque cursor and an optional long poll.</summary>
internal static class ChangesApi
{
    public const int MaxLimit = 1000;
    public const int MaxWaitSeconds = 30;

    public static IEndpointRouteBuilder MapChangesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/changes", GetChanges).WithTags("Changes").WithName("GetChanges").RequireAuthorization(TallyPolicies.Read)
           .ProducesErrors(400, 401, 403, 410, 429, 503)
           .WithSummary("The tenant's changes after a cursor, oldest first")
           .WithDescription("after: a change id (default: from the oldest kept); limit 1-1000 (default 100); kinds: a comma-separated subset of " +
                            "tier_changed, goal_completed, user_removed; wait: 0-30 s to hold the request until a change arrives. " +
                            "next is the cursor to pass as after. A cursor older than what is kept is 410 cursor_expired.");
        return app;
    }

    internal sealed record ChangesQuery(
        [FromQuery(Name = "after")] string? After, [FromQuery(Name = "limit")] int? Limit,
        [FromQuery(Name = "kinds")] string? Kinds, [FromQuery(Name = "wait")] int? Wait);

    internal sealed record Services(ChangeStore Store, ChangeNotifications Notifications, TimeProvider Time);

    private static async Task<Results<Ok<ChangesResponse>, BadRequest<ErrorBody>, JsonHttpResult<ErrorBody>>> GetChanges(
        [AsParameters] ChangesQuery query, TenantScope scope, [AsParameters] Services services, CancellationToken ct)
    {
        var tenant = scope.Tenant;
        long? after = null;
        if (query.After is not null)
        {
            if (!ChangeCursor.TryParse(query.After, out var seq))
                return ApiError.BadRequest("invalid_after", "after must be a change id as the feed gives it (next, or a change's id).", "after");
            after = seq;
        }
        var (limit, limitError) = BoardParameters.Range(query.Limit, "limit", 100, 1, MaxLimit);
        if (limitError is not null) return limitError;
        var (wait, waitError) = BoardParameters.Range(query.Wait, "wait", 0, 0, MaxWaitSeconds);
        if (waitError is not null) return waitError;
        string[]? kinds = null;
        if (query.Kinds is not null)
        {
            kinds = query.Kinds.Split(',', StringSplitOptions.TrimEntries);
            if (kinds.Length == 0 || kinds.Any(k => Array.IndexOf(ChangeData.Kinds, k) < 0))
                return ApiError.BadRequest("invalid_kinds", "kinds must be a comma-separated list of tier_changed, goal_completed, user_removed.", "kinds");
            kinds = kinds.Distinct().ToArray();
        }

        var head = await services.Store.HeadAsync(tenant.TenantId, ct);
        if (after is { } cursor && cursor < head.PrunedSeq)
            return ApiError.Status(410, "cursor_expired",
                $"The changes after this cursor were pruned (kept {tenant.Config.Changes.KeepDays} days); start again without after, from the oldest kept.", "after");
        var from = after ?? head.PrunedSeq;
        var deadline = services.Time.GetTimestamp() + wait * services.Time.TimestampFrequency;
        while (true)
        {
            // Taken before the read: a change committed after the read still ends the wait.
            var next = services.Notifications.NextChange(tenant.TenantId);
            var changes = await services.Store.ReadAsync(tenant.TenantId, from, limit, kinds, ct);
            var remaining = services.Time.GetElapsedTime(services.Time.GetTimestamp(), deadline);
            if (changes.Count > 0 || remaining <= TimeSpan.Zero)
                return TypedResults.Ok(Render(changes, changes.Count > 0 ? changes[^1].Seq : from, tenant.Calendar.Zone));
            // Rechecked at least every second: a notification lost while the listener reconnected costs no more.
            await Task.WhenAny(next, Task.Delay(remaining < TimeSpan.FromSeconds(1) ? remaining : TimeSpan.FromSeconds(1), ct));
        }
    }

    private static ChangesResponse Render(List<StoredChange> changes, long next, TimeZoneInfo zone)
    {
        var rendered = new ChangeEntry[changes.Count];
        for (var i = 0; i < changes.Count; i++)
        {
            var c = changes[i];
            using var data = JsonDocument.Parse(c.DataJson);
            rendered[i] = new ChangeEntry(ChangeCursor.Format(c.Seq), c.Kind, c.UserId, TimeZoneInfo.ConvertTime(c.At, zone),
                TimeZoneInfo.ConvertTime(c.RecordedAt, zone), data.RootElement.Clone());
        }
        return new ChangesResponse(rendered, ChangeCursor.Format(next));
    }
}
