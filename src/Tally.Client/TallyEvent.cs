using System.Text.Json.Nodes;

namespace Tally.Client;

/// <summary>
/// One user action event (API.md, Events). The idempotency key is made once, when the event is created, and travels
/// with it: every retry of the event sends the same key, so Tally applies it exactly once.
/// </summary>
public sealed record TallyEvent
{
    public required string UserId { get; init; }
    public required string Action { get; init; }
    public required IReadOnlyDictionary<string, decimal> Measures { get; init; }
    public IReadOnlyDictionary<string, string>? Dims { get; init; }
    public DateTimeOffset OccurredAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>Unique per tenant; a new UUID unless you give your own (for example the id of the row that caused it).</summary>
    public string IdempotencyKey { get; init; } = Guid.NewGuid().ToString();

    /// <summary>Any JSON (at most 16 KiB serialized), stored with the event.</summary>
    public JsonNode? Payload { get; init; }

    internal JsonObject ToJson()
    {
        var measures = new JsonObject();
        foreach (var (name, value) in Measures) measures[name] = value;
        var e = new JsonObject
        {
            ["user_id"] = UserId,
            ["action"] = Action,
            ["measures"] = measures,
            ["occurred_at"] = OccurredAt.ToString("O"),
            ["idempotency_key"] = IdempotencyKey,
        };
        if (Dims is { Count: > 0 })
        {
            var dims = new JsonObject();
            foreach (var (name, value) in Dims) dims[name] = value;
            e["dims"] = dims;
        }
        if (Payload is not null) e["payload"] = Payload.DeepClone();
        return e;
    }
}
