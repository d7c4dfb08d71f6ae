using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Time;
using Tally.Postgres.Tenants;

namespace Tally.Api.Endpoints;

/// <summary>Rollups (total, distinct users and actions) by parameters or by the seed's rollup keys.</summary>
internal static class RollupsApi
{
    public static IEndpointRouteBuilder MapRollupsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/rollups").WithTags("Rollups").RequireAuthorization(TallyPolicies.Read)
            .ProducesErrors(400, 401, 403, 404, 429, 503);
        group.MapGet("/by-key/{rollup_key}", GetByKey).WithName("GetRollupByKey").WithReadDeadline()
             .WithSummary("A rollup by the seed's key")
             .WithDescription("global_all_time, country_US_2025, global_2025-11, ...; measure defaults to the first leaderboard measure.");
        group.MapGet("/{measure}", Get).WithName("GetRollup").WithReadDeadline()
             .WithSummary("Total, distinct users and actions of a measure")
             .WithDescription("scope=global|dimension:value, period, key (default: the current period).");
        return app;
    }

    internal sealed record RollupQuery([FromQuery(Name = "scope")] string? Scope, [FromQuery(Name = "period")] string? Period, [FromQuery(Name = "key")] string? Key);

    private static async Task<Results<Ok<RollupResponse>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> Get(
        string measure, [AsParameters] RollupQuery query, TenantScope scope, IClusterClient cluster, TallyClock clock)
    {
        var tenant = scope.Tenant;
        if (!tenant.Config.Measures.ContainsKey(measure) || tenant.Config.Rollups is null)
            return ApiError.NotFound("rollup_not_found", $"There is no rollup for measure '{measure}'.");
        var (board, error) = BoardParameters.Parse(tenant, BoardParameters.Kind.Rollup, measure, query.Scope, query.Period, query.Key, tenant.Calendar.LocalDate(clock.UtcNow));
        if (error is not null) return error;
        return TypedResults.Ok(await AnswerAsync(tenant, board, null, cluster));
    }

    private static async Task<Results<Ok<RollupResponse>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetByKey(
        string rollup_key, string? measure, TenantScope scope, IClusterClient cluster)
    {
        var tenant = scope.Tenant;
        measure ??= tenant.Plan.BoardMeasures.Count > 0 ? tenant.Plan.BoardMeasures[0] : tenant.Plan.Measures[0];
        if (!tenant.Config.Measures.ContainsKey(measure))
            return ApiError.BadRequest("unknown_measure", $"'{measure}' is not a declared measure.", "measure");
        if (!TryParseRollupKey(tenant, rollup_key, measure, out var board))
            return ApiError.BadRequest("invalid_rollup_key",
                "rollup_key must be global_{period} or {dimension}_{value}_{period}, the period being all_time, 2025, 2025-11 or 2025-11-22.", "rollup_key");
        if (tenant.Config.Rollups is null || !tenant.Plan.IsRollup(board))
            return ApiError.NotFound("rollup_not_found", $"The tenant keeps no rollup '{rollup_key}'.");
        return TypedResults.Ok(await AnswerAsync(tenant, board, rollup_key, cluster));
    }

    private static async Task<RollupResponse> AnswerAsync(LoadedTenant tenant, BoardKey board, string? rollupKey, IClusterClient cluster)
    {
        var result = await cluster.Grain<IBoardQueryGrain>(WorkerKeys.Next()).Rollup(tenant.TenantId, tenant.Version, board);
        return new RollupResponse(board.Measure, board.ScopeText, Periods.Name(board.Period), board.PeriodKeyText,
            rollupKey ?? board.RollupKey, result.Total, result.Users, result.Actions, result.ComputedAt);
    }

    /// <summary>
    /// <c>global_{period}</c> or <c>{dimension}_{value}_{period}</c>. Dimension names and values may contain
    /// underscores: the period is the suffix, the dimension the longest declared name the rest starts with.
    /// </summary>
    internal static bool TryParseRollupKey(LoadedTenant tenant, string text, string measure, out BoardKey key)
    {
        key = default;
        string rest;
        PeriodKind kind;
        int periodKey;
        if (text.EndsWith("_all_time", StringComparison.Ordinal))
        {
            rest = text[..^"_all_time".Length];
            (kind, periodKey) = (PeriodKind.AllTime, 0);
        }
        else
        {
            var cut = text.LastIndexOf('_');
            if (cut <= 0) return false;
            var periodText = text[(cut + 1)..];
            kind = periodText.Length switch { 4 => PeriodKind.Year, 7 => PeriodKind.Month, 10 => PeriodKind.Day, _ => PeriodKind.AllTime };
            if (kind == PeriodKind.AllTime || !Periods.TryParseKey(kind, periodText, out periodKey)) return false;
            rest = text[..cut];
        }
        if (rest == BoardKey.Global)
        {
            key = new BoardKey(measure, BoardKey.Global, "", kind, periodKey);
            return true;
        }
        string? dimension = null;
        foreach (var d in tenant.Config.Dimensions)
            if (rest.Length > d.Length + 1 && rest.StartsWith(d + "_", StringComparison.Ordinal) && d.Length > (dimension?.Length ?? 0))
                dimension = d;
        if (dimension is null) return false;
        key = new BoardKey(measure, dimension, rest[(dimension.Length + 1)..], kind, periodKey);
        return true;
    }
}
