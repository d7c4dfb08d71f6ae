using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Postgres.Lifecycle;

namespace Tally.Api.Endpoints;

/// <summary><c>GET /v1/exports</c>: the tenant's continuous export (API.md, Raw event collection): what waits to be exported
/// and the recent batches.</summary>
internal static class ExportsApi
{
    public static IEndpointRouteBuilder MapExportsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/exports", Get).WithTags("Usage").WithName("GetExports").RequireAuthorization(TallyPolicies.Read)
           .WithSummary("The continuous export's backlog and recent batches")
           .WithDescription("limit 1-100 (default 20), newest batch first. pending_events: events received and not exported yet.")
           .ProducesErrors(400, 401, 403, 429, 503);
        return app;
    }

    internal sealed record Batch(long Id, long? FirstEventId, long? LastEventId, long Rows, int Files, string[] Sinks, DateTimeOffset StartedAt,
        DateTimeOffset? ExportedAt, DateTimeOffset? RemovedAt, string? Error);

    internal sealed record ExportsResponse(long PendingEvents, DateTimeOffset? OldestPendingReceivedAt, Batch[] Batches);

    private static async Task<Results<Ok<ExportsResponse>, BadRequest<ErrorBody>>> Get([FromQuery(Name = "limit")] int? limit, TenantScope scope,
        ContinuousExport exports, CancellationToken ct)
    {
        var (take, error) = BoardParameters.Range(limit, "limit", 20, 1, 100);
        if (error is not null) return error;
        var tenant = scope.Tenant;
        var backlog = await exports.ReadBacklogAsync(tenant.TenantId, ct);
        var batches = await exports.ReadBatchesAsync(tenant.TenantId, take, ct);
        return TypedResults.Ok(new ExportsResponse(backlog.PendingEvents, backlog.OldestPendingReceivedAt, batches
            .Select(b => new Batch(b.Id, b.FirstEventId, b.LastEventId, b.Rows, b.Files, b.Sinks, b.StartedAt, b.ExportedAt, b.RemovedAt, b.Error)).ToArray()));
    }
}
