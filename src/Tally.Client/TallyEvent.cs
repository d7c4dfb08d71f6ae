using System.Text.Json;
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

    /// <summary>Writes the event in the API's JSON shape (decimals as they are: 1.10 stays 1.10).</summary>
    internal void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("user_id", UserId);
        writer.WriteString("action", Action);
        writer.WriteStartObject("measures");
        foreach (var (name, value) in Measures) writer.WriteNumber(name, value);
        writer.WriteEndObject();
        if (Dims is { Count: > 0 })
        {
            writer.WriteStartObject("dims");
            foreach (var (name, value) in Dims) writer.WriteString(name, value);
            writer.WriteEndObject();
        }
        writer.WriteString("occurred_at", OccurredAt);
        writer.WriteString("idempotency_key", IdempotencyKey);
        if (Payload is not null)
        {
            writer.WritePropertyName("payload");
            Payload.WriteTo(writer);
        }
        writer.WriteEndObject();
    }
}
