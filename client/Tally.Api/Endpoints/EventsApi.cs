using System.Text.Json;
using Tally.Api.Auth;
using Tally.Api.Hosting;
using Tally.Api.Http;
using Tally.Contracts;
using Tally.Domain.Time;
using Tally.Domain.Events;
using Microsoft.Extensions.Options;

namespace Tally.Api.Endpoints;

/// <summary><c>POST /v1/events</c>: validate every event, hand the valid ones to the silos in one call,
/// answer per event in request order once they are durable.</summary>
internal static class EventsApi
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new("Tally.Api");
    private static readonly System.Diagnostics.Metrics.Counter<long> Accepted = Meter.CreateCounter<long>("tally_ingest_events_accepted");
    private static readonly System.Diagnostics.Metrics.Counter<long> Duplicates = Meter.CreateCounter<long>("tally_ingest_events_duplicate");
    private static readonly System.Diagnostics.Metrics.Counter<long> Rejected = Meter.CreateCounter<long>("tally_ingest_events_rejected");

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/events", PostEvents).WithTags("Events").WithName("PostEvents")
           .WithSummary("Ingest 1 to 10,000 events; 'accepted' means durable in the event log.");
        return app;
    }

    private static async Task<IResult> PostEvents(HttpRequest request, ApiKeyAuthenticator auth,
        IClusterClient cluster, TallyClock clock, IOptions<ApiOptions> options, CancellationToken ct)
    {
        var (tenant, authError) = await auth.AuthorizeTenantAsync(request, "ingest", "write events", ct);
        if (tenant is null) return authError!;

        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        using (doc)
        {
            var root = doc.RootElement;
            if (ShapeError(root, options.Value.MaxEventsPerRequest) is { } shapeError) return shapeError;
            var isBatch = root.TryGetProperty("events", out var list);
            var count = isBatch ? list.GetArrayLength() : 1;

            var now = clock.UtcNow;
            var results = new EventResult[count];
            var valid = new List<IngestEvent>(count);
            var validIndexes = new List<int>(count);
            var index = 0;
            foreach (var element in isBatch ? list.EnumerateArray() : Single(root))
            {
                var ok = EventValidator.Validate(element, index, tenant.Config, now, out var error);
                if (ok is null)
                {
                    results[index] = new EventResult(EventValidator.KeyOf(element), "rejected", ErrorDetail.From(error!));
                }
                else
                {
                    valid.Add(ToIngestEvent(ok, element));
                    validIndexes.Add(index);
                }
                index++;
            }

            int accepted = 0, duplicates = 0;
            if (valid.Count > 0)
            {
                RecordResult outcome;
                try
                {
                    outcome = await cluster.GetGrain<IIngestGrain>(0).Ingest(tenant.TenantId, tenant.Version, valid.ToArray());
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    return ApiError.Status(503, "not_durable", "The cluster could not record the events; nothing was acknowledged. Retry with the same idempotency keys.");
                }
                if (!outcome.Durable)
                    return ApiError.Status(503, "not_durable", "The event log could not commit; nothing was acknowledged. Retry with the same idempotency keys.");
                for (var i = 0; i < validIndexes.Count; i++)
                {
                    var status = outcome.Statuses[i] == EventStatus.Accepted ? "accepted" : "duplicate";
                    if (status == "accepted") accepted++; else duplicates++;
                    results[validIndexes[i]] = new EventResult(valid[i].IdempotencyKey, status, null);
                }
            }
            Accepted.Add(accepted);
            Duplicates.Add(duplicates);
            Rejected.Add(count - accepted - duplicates);
            return Results.Json(new IngestResponse(accepted, duplicates, count - accepted - duplicates, results), ApiJson.Options);
        }
    }

    private static IResult? ShapeError(JsonElement root, int maxEvents)
    {
        if (root.ValueKind == JsonValueKind.Array)
            return ApiError.BadRequest("invalid_body", "The body must be {\"events\": [...]} or a single event object, not a bare array.");
        if (root.ValueKind != JsonValueKind.Object)
            return ApiError.BadRequest("invalid_body", "The body must be {\"events\": [...]} or a single event object.");
        if (!root.TryGetProperty("events", out var list)) return null;
        if (list.ValueKind != JsonValueKind.Array)
            return ApiError.BadRequest("invalid_body", "events must be an array.", "events");
        var length = list.GetArrayLength();
        if (length == 0)
            return ApiError.BadRequest("invalid_body", "events must hold at least one event.", "events");
        if (length > maxEvents)
            return ApiError.BadRequest("too_many_events", $"events holds {length} events; at most {maxEvents} are accepted per request.", "events");
        return null;
    }

    private static IEnumerable<JsonElement> Single(JsonElement e)
    {
        yield return e;
    }

    private static IngestEvent ToIngestEvent(ValidEvent e, JsonElement element)
    {
        var names = new string[e.Measures.Length];
        var values = new decimal[e.Measures.Length];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = e.Measures[i].Name;
            values[i] = e.Measures[i].Value;
        }
        var measuresJson = element.GetProperty("measures").GetRawText();
        var dimsJson = e.Dims.Length == 0 ? null : element.GetProperty("dims").GetRawText();
        var dimNames = new string[e.Dims.Length];
        var dimValues = new string[e.Dims.Length];
        for (var i = 0; i < dimNames.Length; i++) (dimNames[i], dimValues[i]) = (e.Dims[i].Key, e.Dims[i].Value);
        return new IngestEvent(e.UserId, e.Action, e.OccurredAt, e.IdempotencyKey, names, values, measuresJson, dimsJson, e.PayloadJson, dimNames, dimValues);
    }

    private sealed record EventResult(string? IdempotencyKey, string Status, ErrorDetail? Error);

    private sealed record IngestResponse(int Accepted, int Duplicates, int Rejected, EventResult[] Results);
}
