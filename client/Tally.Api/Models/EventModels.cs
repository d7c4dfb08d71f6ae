using System.Text.Json;
using System.Text.Json.Serialization;
using Tally.Api.Http;

namespace Tally.Api.Models;

/// <summary><c>POST /v1/events</c> body (a single event object is also accepted). Documented shape; the body is read and validated field by field.</summary>
public sealed record IngestRequest(IngestEvent[] Events);

/// <summary>One event as sent. Field rules: see the API contract (<c>docs/api.md</c>).</summary>
public sealed record IngestEvent(
    string UserId,
    string Action,
    Dictionary<string, decimal> Measures,
    Dictionary<string, string>? Dims,
    DateTimeOffset OccurredAt,
    string IdempotencyKey,
    JsonElement? Payload);

/// <summary>The answer when the body was understood: counts, and one result per event in request order.</summary>
public sealed record IngestResponse(int Accepted, int Duplicates, int Rejected, EventResult[] Results);

/// <summary>An event's outcome: <c>accepted</c> (durable in the log), <c>duplicate</c> or <c>rejected</c> (with the error).</summary>
public sealed record EventResult(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? IdempotencyKey,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ErrorDetail? Error);

/// <summary><c>POST /v1/collect</c>: the answer of <c>POST /v1/events</c>, each result naming its event's <c>event_id</c>.</summary>
public sealed record CollectResponse(int Accepted, int Duplicates, int Rejected, CollectResult[] Results);

/// <summary>A collected event's outcome; <c>event_id</c> is the one it was sent with or the one Tally assigned.</summary>
public sealed record CollectResult(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? EventId,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ErrorDetail? Error);
