using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Events;
using Tally.Domain.Time;
using Tally.Redis;

namespace Tally.Api.Endpoints;

/// <summary>Leaderboard pages and a user's neighbourhood, merged over the tenant's board shards.</summary>
internal static class BoardsApi
{
    public const int MaxLimit = 1000;
    public const int MaxAround = 100;

    public static IEndpointRouteBuilder MapBoardsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/leaderboards").WithTags("Leaderboards").RequireAuthorization(TallyPolicies.Read)
            .ProducesErrors(400, 401, 403, 404, 429, 503);
        group.MapGet("/{measure}", GetPage).WithName("GetLeaderboard").WithReadDeadline()
             .WithSummary("A page of a leaderboard")
             .WithDescription("scope=global|dimension:value, period, key (default: the current period), offset ≥ 0, limit 1-1000 (default 100).");
        group.MapGet("/{measure}/users/{user_id}", GetAround).WithName("GetLeaderboardAroundUser").WithReadDeadline()
             .WithSummary("A user's rank and score with the entries around it")
             .WithDescription("around=N entries above and below (0-100, default 5).");
        return app;
    }

    /// <summary>Query of a leaderboard page.</summary>
    internal sealed record PageQuery(
        [FromQuery(Name = "scope")] string? Scope, [FromQuery(Name = "period")] string? Period, [FromQuery(Name = "key")] string? Key,
        [FromQuery(Name = "offset")] int? Offset, [FromQuery(Name = "limit")] int? Limit);

    /// <summary>Query of a user's standing.</summary>
    internal sealed record AroundQuery(
        [FromQuery(Name = "scope")] string? Scope, [FromQuery(Name = "period")] string? Period, [FromQuery(Name = "key")] string? Key,
        [FromQuery(Name = "around")] int? Around);

    internal sealed record Services(IClusterClient Cluster, PageCache Cache, BoardVersions Versions, RecentPages Recent, TallyClock Clock);

    private static async Task<Results<RenderedJson<LeaderboardPage>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetPage(
        string measure, [AsParameters] PageQuery query, TenantScope scope, [AsParameters] Services services)
    {
        var tenant = scope.Tenant;
        if (!tenant.Plan.HasBoardFor(measure)) return ApiError.NotFound("board_not_found", $"There is no leaderboard for measure '{measure}'.");
        var (board, error) = BoardParameters.Parse(tenant, BoardParameters.Kind.Leaderboard, measure, query.Scope, query.Period, query.Key, tenant.Calendar.LocalDate(services.Clock.UtcNow));
        if (error is not null) return error;
        var (from, offsetError) = BoardParameters.Range(query.Offset, "offset", 0, 0, int.MaxValue - MaxLimit);
        if (offsetError is not null) return offsetError;
        var (take, limitError) = BoardParameters.Range(query.Limit, "limit", 100, 1, MaxLimit);
        if (limitError is not null) return limitError;

        var boardText = board.ToString();
        var recentKey = RecentPages.Key(tenant.TenantId, tenant.Version, boardText, from, take);
        // Readers of the same page at the same moment share one rendering: one cache read and, on a miss, one fan-out.
        var bytes = await services.Recent.GetOrRenderAsync(recentKey, async () =>
        {
            var cacheKey = PageCache.Key(tenant.TenantId, tenant.Version, boardText, await services.Versions.ReadAsync(tenant.TenantId, boardText), from, take);
            if (await services.Cache.GetAsync(cacheKey) is { } cached) return cached;
            var page = await services.Cluster.Grain<IBoardQueryGrain>(WorkerKeys.Next()).Page(tenant.TenantId, tenant.Version, board, from, take);
            var body = new LeaderboardPage(measure, board.ScopeText, Periods.Name(board.Period), board.PeriodKeyText, page.Members, Rows(page.Entries));
            var rendered = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(body, ApiJson.Options);
            await services.Cache.SetAsync(cacheKey, rendered);
            return rendered;
        });
        return new RenderedJson<LeaderboardPage>(bytes);
    }

    private static async Task<Results<Ok<LeaderboardStanding>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetAround(
        string measure, string user_id, [AsParameters] AroundQuery query, TenantScope scope, IClusterClient cluster, TallyClock clock)
    {
        var tenant = scope.Tenant;
        if (user_id.Length is 0 or > EventValidator.MaxUserIdLength)
            return ApiError.BadRequest("invalid_length", $"user_id must be 1 to {EventValidator.MaxUserIdLength} characters.", "user_id");
        if (!tenant.Plan.HasBoardFor(measure)) return ApiError.NotFound("board_not_found", $"There is no leaderboard for measure '{measure}'.");
        var (board, error) = BoardParameters.Parse(tenant, BoardParameters.Kind.Leaderboard, measure, query.Scope, query.Period, query.Key, tenant.Calendar.LocalDate(clock.UtcNow));
        if (error is not null) return error;
        var (n, aroundError) = BoardParameters.Range(query.Around, "around", 5, 0, MaxAround);
        if (aroundError is not null) return aroundError;

        var standing = await cluster.Grain<IBoardQueryGrain>(WorkerKeys.Next()).Around(tenant.TenantId, tenant.Version, board, user_id, n);
        if (standing is null) return ApiError.NotFound("user_not_found", $"User '{user_id}' is not on this board.");
        return TypedResults.Ok(new LeaderboardStanding(measure, board.ScopeText, Periods.Name(board.Period), board.PeriodKeyText, user_id,
            standing.Rank, standing.Score, standing.Members, Rows(standing.Entries)));
    }

    private static LeaderboardRow[] Rows(LeaderboardEntry[] entries)
    {
        var result = new LeaderboardRow[entries.Length];
        for (var i = 0; i < entries.Length; i++) result[i] = new LeaderboardRow(entries[i].Rank, entries[i].UserId, entries[i].Score);
        return result;
    }
}
