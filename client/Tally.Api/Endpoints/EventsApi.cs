using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Tally.Api.Auth;
using Tally.Api.Hosting;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Api.Usage;
using Tally.Contracts;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Domain.Time;

namespace Tally.Api.Endpoints;

/// <summary><c>POST /v1/events</c>: validate every event, hand the valid ones to the silos in one call,
/// answer per event in request order once they are durable.</summary>
internal static class EventsApi
{

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/events", PostEvents).WithTags("Events").WithName("PostEvents")
           .RequireAuthorization(TallyPolicies.Ingest)
           .Accepts<IngestRequest>("application/json")
           .WithSummary("Ingest 1 to 10,000 events")
           .WithDescription("Each event is validated on its own; 'accepted' means durable in the event log. 503 answers say whether anything may have been recorded; retrying with the same idempotency keys is always safe.")
           .ProducesErrors(400, 401, 403, 413, 429, 503);
        return app;
    }

    /// <summary>What the handler needs besides the request (one [AsParameters] record).</summary>
    internal sealed record Services(IClusterClient Cluster, TallyClock Clock, TimeProvider Time, IngestAdmission Admission, UsageMeter Usage,
        IOptions<ApiOptions> Options, ApiMetrics Metrics);

    private static async Task<Results<Ok<IngestResponse>, BadRequest<ErrorBody>, JsonHttpResult<ErrorBody>>> PostEvents(
        HttpRequest request, TenantScope scope, [AsParameters] Services services, CancellationToken ct)
    {
        // Shed before the body is read: parsing and validating what will be refused would take the CPU the admitted need.
        if (services.Admission.Saturated)
            return Unavailable(request, "overloaded", "This API instance has as many events in flight as the cluster answers in time; nothing was written. Retry after a pause with the same idempotency keys.");
        var tenant = scope.Tenant;
        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        using (doc)
        {
            var root = doc.RootElement;
            if (ShapeError(root, services.Options.Value.MaxEventsPerRequest) is { } shapeError) return shapeError;
            var isBatch = Tally.Domain.JsonText.TryGetProperty(root, "events", out var list);
            var count = isBatch ? list.GetArrayLength() : 1;

            var now = services.Clock.UtcNow;
            var results = new EventResult[count];
            var valid = new List<ValidEvent>(count);
            var validIndexes = new List<int>(count);
            var userIds = new string?[count];
            var index = 0;
            foreach (var element in isBatch ? list.EnumerateArray() : Single(root))
            {
                var ok = EventValidator.Validate(element, index, tenant.Config, now, out var error);
                if (ok is null) results[index] = new EventResult(EventValidator.KeyOf(element), "rejected", ErrorDetail.From(error!));
                else
                {
                    valid.Add(ok);
                    validIndexes.Add(index);
                    userIds[index] = ok.UserId;
                }
                index++;
            }

            var (accepted, duplicates, rejected, refused) = await IngestAsync(request, tenant, now, results, valid, validIndexes, userIds, services);
            if (refused is not null) return refused;
            return TypedResults.Ok(new IngestResponse(accepted, duplicates, rejected, results));
        }
    }

    /// <summary>
    /// Records the valid events of a request (<paramref name="valid"/>, at <paramref name="validIndexes"/> of it) and fills
    /// their results; the rejected ones are already in <paramref name="results"/>. Counts, meters and records usage.
    /// Returns the 503 that answers the whole request when no event's outcome is known. Shared by /v1/events and /v1/collect.
    /// </summary>
    internal static async Task<(int Accepted, int Duplicates, int Rejected, JsonHttpResult<ErrorBody>? Refusal)> IngestAsync(HttpRequest request,
        LoadedTenant tenant, DateTimeOffset now, EventResult[] results, List<ValidEvent> valid, List<int> validIndexes,
        string?[] userIds, Services services)
    {
        var count = results.Length;
        if (valid.Count > 0)
        {
            var (outcome, refusal) = await RecordAsync(request, tenant.TenantId, tenant.Version, valid, services);
            if (refusal is not null) return (0, 0, 0, refusal);
            for (var i = 0; i < validIndexes.Count; i++)
            {
                var e = valid[i];
                results[validIndexes[i]] = outcome!.Statuses[i] switch
                {
                    EventStatus.Accepted => new EventResult(e.IdempotencyKey, "accepted", null),
                    EventStatus.Duplicate => new EventResult(e.IdempotencyKey, "duplicate", null),
                    EventStatus.Retry => new EventResult(e.IdempotencyKey, "retry", RetryOf(outcome.Errors?[i])),
                    _ => new EventResult(e.IdempotencyKey, "rejected", RejectionOf(outcome.Errors?[i], validIndexes[i])),
                };
            }
        }

        int accepted = 0, duplicates = 0, rejected = 0;
        foreach (var r in results)
        {
            if (r.Status == "accepted") accepted++;
            else if (r.Status == "duplicate") duplicates++;
            else if (r.Status == "rejected") rejected++;
        }
        if (accepted + duplicates + rejected == 0)
            // Every event's outcome is unknown: the contract answers the request as a whole.
            return (0, 0, 0, Unavailable(request, "outcome_unknown", "The cluster did not answer for any of these events in time; some may have been recorded. Retrying with the same idempotency keys is safe: recorded ones answer duplicate."));
        services.Metrics.EventsAccepted.Add(accepted);
        services.Metrics.EventsDuplicate.Add(duplicates);
        services.Metrics.EventsRejected.Add(rejected);
        if (count - accepted - duplicates - rejected is var retry and > 0)
        {
            services.Metrics.EventsRetry.Add(retry);
            request.HttpContext.Response.Headers.RetryAfter = "1";
        }
        services.Usage.Record(tenant.TenantId, tenant.Calendar.LocalDate(now), results, userIds);
        return (accepted, duplicates, rejected, null);
    }

    /// <summary>Hands the valid events to the cluster within the request's deadline. Returns the silo's outcome with a
    /// status per event, or the 503 that answers the whole request (nothing of it acknowledged).</summary>
    private static async Task<(RecordResult? Outcome, JsonHttpResult<ErrorBody>? Refusal)> RecordAsync(
        HttpRequest request, string tenantId, long configVersion, List<ValidEvent> valid, Services services)
    {
        var options = services.Options.Value;
        if (!services.Admission.TryEnter(valid.Count))
            return (null, Unavailable(request, "overloaded", "This API instance has as many events in flight as the cluster answers in time; nothing was written. Retry after a pause with the same idempotency keys."));
        var started = services.Time.GetTimestamp();
        // The silo answers by its deadline, a little before ours, so its per-event answer (retry for users that did not
        // answer) arrives while we still wait.
        var deadline = services.Time.GetUtcNow().ToUnixTimeMilliseconds() + options.IngestTimeoutMs - DeadlineAllowanceMs;
        RecordResult outcome;
        try
        {
            outcome = await services.Cluster.Grain<IIngestGrain>(WorkerKeys.Next()).Ingest(tenantId, configVersion, valid.ToArray(), deadline)
                .WaitAsync(TimeSpan.FromMilliseconds(options.IngestTimeoutMs), services.Time);
        }
        catch (Exception ex) when (ex is TimeoutException || ErrorMapping.UnavailableDependency(ex) is not null)
        {
            services.Admission.Exit(valid.Count, services.Time.GetElapsedTime(started), refused: false);
            return (null, Unavailable(request, "outcome_unknown", "The cluster did not answer in time; some events may have been recorded. Retrying with the same idempotency keys is safe: recorded ones answer duplicate."));
        }
        services.Admission.Exit(valid.Count, services.Time.GetElapsedTime(started), refused: outcome.Failure == RecordFailure.Overloaded);
        return outcome.Failure switch
        {
            RecordFailure.None => (outcome, null),
            RecordFailure.Overloaded => (null, Unavailable(request, "overloaded", "The cluster is saturated; nothing was written. Retry after a pause with the same idempotency keys.")),
            RecordFailure.OutcomeUnknown => (null, Unavailable(request, "outcome_unknown", "The cluster did not answer for these events in time; some may have been recorded. Retrying with the same idempotency keys is safe: recorded ones answer duplicate.")),
            _ => (null, Unavailable(request, "not_durable", "The event log could not commit; nothing was acknowledged. Retry with the same idempotency keys.")),
        };
    }

    /// <summary>What the deadline given to the silo leaves for its answer to travel back before the request stops waiting.</summary>
    private const int DeadlineAllowanceMs = 100;

    private static ErrorDetail RetryOf(EventRejection? error) => error is null
        ? new ErrorDetail("unavailable", "The event's outcome is not known; send it again with the same idempotency key.", null)
        : new ErrorDetail(error.Code, error.Message, null);

    private static ErrorDetail RejectionOf(EventRejection? rejection, int index) => rejection is null
        ? new ErrorDetail("rejected", "The event was refused.", $"events[{index}]")
        : new ErrorDetail(rejection.Code, rejection.Message, rejection.Field.Length == 0 ? $"events[{index}]" : $"events[{index}].{rejection.Field}");

    internal static JsonHttpResult<ErrorBody> Unavailable(HttpRequest request, string code, string message)
    {
        request.HttpContext.RequestServices.GetRequiredService<ApiMetrics>().RequestsRefused.Add(1, new KeyValuePair<string, object?>("code", code));
        request.HttpContext.Response.Headers.RetryAfter = "1";
        return ApiError.Status(503, code, message);
    }

    private static BadRequest<ErrorBody>? ShapeError(JsonElement root, int maxEvents)
    {
        if (root.ValueKind == JsonValueKind.Array)
            return ApiError.BadRequest("invalid_body", "The body must be {\"events\": [...]} or a single event object, not a bare array.");
        if (root.ValueKind != JsonValueKind.Object)
            return ApiError.BadRequest("invalid_body", "The body must be {\"events\": [...]} or a single event object.");
        if (!Tally.Domain.JsonText.TryGetProperty(root, "events", out var list)) return null;
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
}
