using Tally.Api.Auth;
using Tally.Api.Http;
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
        var group = app.MapGroup("/v1/leaderboards").WithTags("Leaderboards");
        group.MapGet("/{measure}", GetPage).WithName("GetLeaderboard")
             .WithSummary("A page of a board: ?scope=global|dim:value&period=&key=&offset=0&limit=100 (limit 1-1000).");
        group.MapGet("/{measure}/users/{user_id}", GetAround).WithName("GetLeaderboardAroundUser")
             .WithSummary("A user's rank and score with the ?around=N entries above and below.");
        return app;
    }

    private static async Task<IResult> GetPage(string measure, string? scope, string? period, string? key, string? offset, string? limit,
        HttpRequest request, ApiKeyAuthenticator auth, IClusterClient cluster, PageCache cache, BoardVersions versions, SingleFlight pages, TallyClock clock, CancellationToken ct)
    {
        var (tenant, authError) = await auth.AuthorizeTenantAsync(request, "read", "read leaderboards", ct);
        if (tenant is null) return authError!;
        if (!tenant.Plan.HasBoardFor(measure)) return ApiError.NotFound("board_not_found", $"There is no leaderboard for measure '{measure}'.");
        var (board, error) = BoardParameters.Parse(tenant, BoardParameters.Kind.Leaderboard, measure, scope, period, key, tenant.Calendar.LocalDate(clock.UtcNow));
        if (error is not null) return error;
        var (from, offsetError) = BoardParameters.Int(offset, "offset", 0, 0, int.MaxValue - MaxLimit);
        if (offsetError is not null) return offsetError;
        var (take, limitError) = BoardParameters.Int(limit, "limit", 100, 1, MaxLimit);
        if (limitError is not null) return limitError;

        var boardText = board.ToString();
        var cacheKey = PageCache.Key(tenant.TenantId, tenant.Version, boardText, await versions.ReadAsync(tenant.TenantId, boardText), from, take);
        byte[] bytes;
        try
        {
            // Readers of the same page at the same moment share one cache read and, on a miss, one fan-out.
            bytes = await pages.RunAsync(cacheKey.Text, async () =>
            {
                if (await cache.GetAsync(cacheKey) is { } cached) return cached;
                var page = await cluster.GetGrain<IBoardQueryGrain>(0).Page(tenant.TenantId, tenant.Version, board, from, take);
                var body = new PageBody(measure, board.ScopeText, Periods.Name(board.Period), board.PeriodKeyText, page.Members, Entries(page.Entries));
                var rendered = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(body, ApiJson.Options);
                await cache.SetAsync(cacheKey, rendered);
                return rendered;
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ApiError.Status(503, "unavailable", "The cluster could not answer; retry shortly.");
        }
        return Results.Bytes(bytes, "application/json");
    }

    private static async Task<IResult> GetAround(string measure, string user_id, string? scope, string? period, string? key, string? around,
        HttpRequest request, ApiKeyAuthenticator auth, IClusterClient cluster, TallyClock clock, CancellationToken ct)
    {
        var (tenant, authError) = await auth.AuthorizeTenantAsync(request, "read", "read leaderboards", ct);
        if (tenant is null) return authError!;
        if (user_id.Length is 0 or > EventValidator.MaxUserIdLength)
            return ApiError.BadRequest("invalid_length", $"user_id must be 1 to {EventValidator.MaxUserIdLength} characters.", "user_id");
        if (!tenant.Plan.HasBoardFor(measure)) return ApiError.NotFound("board_not_found", $"There is no leaderboard for measure '{measure}'.");
        var (board, error) = BoardParameters.Parse(tenant, BoardParameters.Kind.Leaderboard, measure, scope, period, key, tenant.Calendar.LocalDate(clock.UtcNow));
        if (error is not null) return error;
        var (n, aroundError) = BoardParameters.Int(around, "around", 5, 0, MaxAround);
        if (aroundError is not null) return aroundError;

        UserStanding? standing;
        try
        {
            standing = await cluster.GetGrain<IBoardQueryGrain>(0).Around(tenant.TenantId, tenant.Version, board, user_id, n);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ApiError.Status(503, "unavailable", "The cluster could not answer; retry shortly.");
        }
        if (standing is null) return ApiError.NotFound("user_not_found", $"User '{user_id}' is not on this board.");
        return Results.Json(new AroundBody(measure, board.ScopeText, Periods.Name(board.Period), board.PeriodKeyText, user_id,
            standing.Rank, standing.Score, standing.Members, Entries(standing.Entries)), ApiJson.Options);
    }

    private static EntryBody[] Entries(LeaderboardEntry[] entries)
    {
        var result = new EntryBody[entries.Length];
        for (var i = 0; i < entries.Length; i++) result[i] = new EntryBody(entries[i].Rank, entries[i].UserId, entries[i].Score);
        return result;
    }

    private sealed record EntryBody(long Rank, string UserId, decimal Score);

    private sealed record PageBody(string Measure, string Scope, string Period, string Key, long Members, EntryBody[] Entries);

    private sealed record AroundBody(string Measure, string Scope, string Period, string Key, string UserId, long Rank, decimal Score, long Members, EntryBody[] Entries);
}
