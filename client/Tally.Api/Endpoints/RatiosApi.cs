using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Stats;
using Tally.Domain.Time;

namespace Tally.Api.Endpoints;

/// <summary>
/// <c>GET /v1/ratios/{ratio}</c>: a declared ratio over every user in a rollup scope and period (the learning
/// platform's per-question success rate: <c>correct / answered</c> scoped by <c>question</c>). The numerator
/// and denominator are the two measures' rollups, so the same scope, period and key rules apply.
/// </summary>
internal static class RatiosApi
{
    public static IEndpointRouteBuilder MapRatiosApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/ratios/{ratio}", Get).WithTags("Ratios").WithName("GetRatio").WithReadDeadline().RequireAuthorization(TallyPolicies.Read)
           .WithSummary("A ratio over every user in a scope and period")
           .WithDescription("scope=global|dimension:value, period, key (default: the current period); value is null where the denominator's sum is 0.")
           .ProducesErrors(400, 401, 403, 404, 429, 503);
        app.MapGet("/v1/ratios/{ratio}/values", GetValues).WithTags("Ratios").WithName("GetRatioValues").WithReadDeadline().RequireAuthorization(TallyPolicies.Read)
           .WithSummary("Every value of a rollup scope whose ratio lies in a band")
           .WithDescription("scope=dimension (a rollup scope), period, key (default: the current period), min and max (inclusive; default unbounded), " +
                            "min_denominator (default 1), order=asc|desc by the ratio then the value, offset ≥ 0, limit 1-1000 (default 100). " +
                            "Answered from the rollups: the seed's adaptive-difficulty question.")
           .ProducesErrors(400, 401, 403, 404, 429, 503);
        return app;
    }

    internal sealed record RatioQuery([FromQuery(Name = "scope")] string? Scope, [FromQuery(Name = "period")] string? Period, [FromQuery(Name = "key")] string? Key);

    internal sealed record ValuesQuery(
        [FromQuery(Name = "scope")] string? Scope, [FromQuery(Name = "period")] string? Period, [FromQuery(Name = "key")] string? Key,
        [FromQuery(Name = "min")] string? Min, [FromQuery(Name = "max")] string? Max, [FromQuery(Name = "min_denominator")] string? MinDenominator,
        [FromQuery(Name = "order")] string? Order, [FromQuery(Name = "offset")] int? Offset, [FromQuery(Name = "limit")] int? Limit);

    private static async Task<Results<Ok<RatioValuesResponse>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetValues(
        string ratio, [AsParameters] ValuesQuery query, TenantScope scope, IClusterClient cluster, TallyClock clock)
    {
        var tenant = scope.Tenant;
        if (tenant.Config.Ratios?.GetValueOrDefault(ratio) is not { } definition || tenant.Config.Rollups is null)
            return ApiError.NotFound("ratio_not_found", $"There is no ratio '{ratio}'.");
        var dimension = query.Scope;
        if (string.IsNullOrEmpty(dimension))
            return ApiError.BadRequest("missing_scope", "scope names the dimension whose values are listed, e.g. scope=question.", "scope");
        if (!tenant.Config.Dimensions.Contains(dimension))
            return ApiError.BadRequest("unknown_scope", $"'{Tally.Domain.JsonText.Printable(dimension)}' is not a declared dimension (scope names a dimension, not a value).", "scope");
        if (!tenant.Plan.IsRollupScope(dimension))
            return ApiError.BadRequest("scope_not_configured", $"The tenant's rollups are not kept for scope '{dimension}'.", "scope");
        var (period, periodKey, periodError) = BoardParameters.ParsePeriod(tenant, BoardParameters.Kind.Rollup, query.Period, query.Key, tenant.Calendar.LocalDate(clock.UtcNow));
        if (periodError is not null) return periodError;
        var (min, minError) = BoardParameters.Number(query.Min, "min");
        if (minError is not null) return minError;
        var (max, maxError) = BoardParameters.Number(query.Max, "max");
        if (maxError is not null) return maxError;
        if (min > max) return ApiError.BadRequest("invalid_max", "max must not be below min.", "max");
        var (minDenominator, denominatorError) = BoardParameters.Number(query.MinDenominator, "min_denominator", atLeast: 0);
        if (denominatorError is not null) return denominatorError;
        var (descending, orderError) = BoardParameters.Order(query.Order);
        if (orderError is not null) return orderError;
        var (from, offsetError) = BoardParameters.Range(query.Offset, "offset", 0, 0, int.MaxValue);
        if (offsetError is not null) return offsetError;
        var (take, limitError) = BoardParameters.Range(query.Limit, "limit", 100, 1, BoardsApi.MaxLimit);
        if (limitError is not null) return limitError;

        var totals = await cluster.Grain<IBoardQueryGrain>(WorkerKeys.Next()).ScopeTotals(tenant.TenantId, tenant.Version,
            [definition.Numerator, definition.Denominator], dimension, period, periodKey);
        var band = new RatioBand(min, max, minDenominator ?? 1, descending);
        var selected = band.Select(totals.Select(v => new RatioSums(v.Value, v.Totals[0].Total, v.Totals[1].Total, v.Totals[1].Users)));
        var page = selected.Skip(from).Take(take)
            .Select(v => new RatioValue(v.Value, v.Ratio!.Value, v.Numerator, v.Denominator, v.Users)).ToArray();
        return TypedResults.Ok(new RatioValuesResponse(ratio, dimension, Periods.Name(period), Periods.FormatKey(period, periodKey), selected.Count, page));
    }

    private static async Task<Results<Ok<RatioResponse>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> Get(
        string ratio, [AsParameters] RatioQuery query, TenantScope scope, IClusterClient cluster, TallyClock clock)
    {
        var tenant = scope.Tenant;
        if (tenant.Config.Ratios?.GetValueOrDefault(ratio) is not { } definition || tenant.Config.Rollups is null)
            return ApiError.NotFound("ratio_not_found", $"There is no ratio '{ratio}'.");
        var (numeratorBoard, error) = BoardParameters.Parse(tenant, BoardParameters.Kind.Rollup, definition.Numerator, query.Scope, query.Period, query.Key,
            tenant.Calendar.LocalDate(clock.UtcNow));
        if (error is not null) return error;
        var denominatorBoard = numeratorBoard with { Measure = definition.Denominator };
        var boards = cluster.Grain<IBoardQueryGrain>(WorkerKeys.Next());
        var numerator = boards.Rollup(tenant.TenantId, tenant.Version, numeratorBoard);
        var denominator = boards.Rollup(tenant.TenantId, tenant.Version, denominatorBoard);
        var (num, den) = (await numerator, await denominator);
        return TypedResults.Ok(new RatioResponse(ratio, numeratorBoard.ScopeText, Periods.Name(numeratorBoard.Period), numeratorBoard.PeriodKeyText,
            RatioRule.Of(num.Total, den.Total), num.Total, den.Total, den.Users));
    }
}
