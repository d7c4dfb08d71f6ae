using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Contracts;
using Tally.Domain.Boards;
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
        return app;
    }

    internal sealed record RatioQuery([FromQuery(Name = "scope")] string? Scope, [FromQuery(Name = "period")] string? Period, [FromQuery(Name = "key")] string? Key);

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
        var boards = cluster.Grain<IBoardQueryGrain>(0);
        var numerator = boards.Rollup(tenant.TenantId, tenant.Version, numeratorBoard);
        var denominator = boards.Rollup(tenant.TenantId, tenant.Version, denominatorBoard);
        var (num, den) = (await numerator, await denominator);
        return TypedResults.Ok(new RatioResponse(ratio, numeratorBoard.ScopeText, Periods.Name(numeratorBoard.Period), numeratorBoard.PeriodKeyText,
            Tally.Domain.Stats.RatioRule.Of(num.Total, den.Total), num.Total, den.Total, den.Users));
    }
}
