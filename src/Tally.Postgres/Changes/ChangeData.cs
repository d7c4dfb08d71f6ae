using System.Text;
using System.Text.Json;
using Tally.Domain.Goals;
using Tally.Domain.Time;

namespace Tally.Postgres.Changes;

/// <summary>
/// The <c>data</c> of each kind of change, as stored and as the API answers it: the tier history entry as
/// <c>GET /v1/users/{id}/tiers</c> shows it, the completion as <c>GET /v1/users/{id}/goals</c> shows it, the removal's
/// instant; snake_case names and instants in the tenant's offset, written once when the change is recorded.
/// </summary>
internal static class ChangeData
{
    public const string TierChanged = "tier_changed";
    public const string GoalCompleted = "goal_completed";
    public const string UserRemoved = "user_removed";

    public static readonly string[] Kinds = [TierChanged, GoalCompleted, UserRemoved];

    public static string OfTierEntry(DateTimeOffset at, string reason, string? from, string to, DateTimeOffset windowStart, DateTimeOffset windowEnd,
        IReadOnlyDictionary<string, decimal> window, TimeZoneInfo zone) => Write(w =>
    {
        w.WriteString("at", InstantText.Format(at, zone));
        w.WriteString("reason", reason);
        if (from is null) w.WriteNull("from"); else w.WriteString("from", from);
        w.WriteString("to", to);
        w.WriteString("window_start", InstantText.Format(windowStart, zone));
        w.WriteString("window_end", InstantText.Format(windowEnd, zone));
        w.WriteStartObject("window");
        foreach (var (measure, sum) in window) w.WriteNumber(measure, sum);
        w.WriteEndObject();
    });

    public static string OfCompletion(GoalCompletion c, TimeZoneInfo zone) => Write(w =>
    {
        w.WriteString("goal", c.Goal);
        w.WriteNumber("level", c.Level);
        w.WriteNumber("target", c.Target);
        w.WriteString("window_key", c.WindowKey);
        w.WriteString("completed_at", InstantText.Format(c.CompletedAt, zone));
        w.WriteNumber("value", c.Value);
    });

    public static string OfRemoval(DateTimeOffset at, TimeZoneInfo zone) => Write(w => w.WriteString("at", InstantText.Format(at, zone)));

    /// <summary>A change as the feed shows it and a webhook receives it: <c>{"id", "kind", "user_id", "at", "recorded_at", "data"}</c>.</summary>
    public static string Envelope(StoredChange change, TimeZoneInfo zone) => Write(w =>
    {
        w.WriteString("id", ChangeCursor.Format(change.Seq));
        w.WriteString("kind", change.Kind);
        w.WriteString("user_id", change.UserId);
        w.WriteString("at", InstantText.Format(change.At, zone));
        w.WriteString("recorded_at", InstantText.Format(change.RecordedAt, zone));
        w.WritePropertyName("data");
        w.WriteRawValue(change.DataJson);
    });

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
