using System.Buffers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tally.Domain.Config;
using Tally.Domain.Stats;

namespace Tally.Domain.Events;

/// <summary>Who sent a collected batch: the client's address as the tenant's <c>collect.ip</c> policy keeps it (null for
/// <c>none</c>) and its user agent.</summary>
public sealed record CollectClient(string? IpAddress, string? UserAgent);

/// <summary>A collected event made an event of the tenant, and the site it was collected for (metered per site).</summary>
public sealed record CollectedEvent(ValidEvent Event, string SiteId);

/// <summary>
/// A raw event as a site's tracking script sends it (API.md, Raw event collection), made an event of the tenant:
/// <c>user_id</c> is the visitor (else the session, else <c>anonymous</c>), <c>action</c> the event type, the measure
/// <c>events</c> = 1 where the tenant declares it, the dimensions <c>event_type</c> and <c>site_id</c> where declared, the
/// idempotency key its <c>event_id</c> (a new UUID when it has none), and the payload the raw event as received plus
/// <c>ip_address</c> and <c>user_agent</c> (and the <c>event_id</c>, <c>site_id</c> and <c>path</c> it was given).
/// </summary>
public static partial class CollectValidator
{
    public const int MaxEventTypeLength = 50;
    public const int MaxIdLength = 100;
    public const int MaxUrlLength = 2048;
    public const int MaxPathLength = 500;
    public const int MaxUserAgentLength = 512;
    public const string Anonymous = "anonymous";

    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,50}$")]
    private static partial Regex EventTypeRegex();

    /// <summary>The event id as sent, when it is a storable string (results name it even for a rejected event).</summary>
    public static string? EventIdOf(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && JsonText.TryGetProperty(e, "event_id", out var v) && JsonText.TryGetString(v, out var id) ? id : null;

    public static CollectedEvent? Validate(JsonElement e, int index, TenantConfig config, string tenantId, DateTimeOffset now, CollectClient client,
        out ValidationError? error)
    {
        error = null;
        if (e.ValueKind != JsonValueKind.Object)
        {
            error = new("invalid_event", "Each event must be a JSON object.", $"events[{index}]");
            return null;
        }
        var typeField = JsonText.TryGetProperty(e, "event_type", out _) || !JsonText.TryGetProperty(e, "eventType", out _) ? "event_type" : "eventType";
        var eventType = EventValidator.RequiredString(e, typeField, index, MaxEventTypeLength, ref error);
        if (error is not null) return null;
        if (!EventTypeRegex().IsMatch(eventType!))
        {
            error = new("invalid_format", $"{typeField} may only contain letters, digits and _ . : -", EventValidator.FieldPath(index, typeField));
            return null;
        }
        var at = EventValidator.ReadInstant(e, "timestamp", index, config, now, ref error);
        if (error is not null) return null;

        string? eventId = null;
        if (OptionalString(e, "event_id", index, MaxIdLength, ref error) is { } sent)
        {
            if (!Guid.TryParse(sent, out var uuid))
            {
                error = new("invalid_format", "event_id must be a UUID, like 3f2b1c9e-5d4a-4e8f-9b7c-2a1d0e6f4b83.", EventValidator.FieldPath(index, "event_id"));
                return null;
            }
            eventId = uuid.ToString("D");
        }
        if (error is not null) return null;
        var siteId = OptionalString(e, "site_id", index, MaxIdLength, ref error) ?? tenantId;
        var sessionId = OptionalString(e, "session_id", index, MaxIdLength, ref error);
        var visitorId = OptionalString(e, "visitor_id", index, MaxIdLength, ref error);
        var url = OptionalString(e, "url", index, MaxUrlLength, ref error);
        var path = OptionalString(e, "path", index, MaxPathLength, ref error);
        if (error is not null) return null;
        path ??= PathOf(url);
        if (JsonText.TryGetProperty(e, "data", out var data) && data.ValueKind != JsonValueKind.Null)
        {
            if (JsonText.FindUnstorable(data, EventValidator.FieldPath(index, "data"), out var problem) is { } bad)
            {
                error = new("invalid_payload", $"This data value {problem}.", bad);
                return null;
            }
            if (System.Text.Encoding.UTF8.GetByteCount(data.GetRawText()) > EventValidator.MaxPayloadBytes)
            {
                error = new("payload_too_large", $"data must be at most {EventValidator.MaxPayloadBytes} bytes serialized.", EventValidator.FieldPath(index, "data"));
                return null;
            }
        }
        // Other fields a tracker adds are kept as sent; they must be storable too.
        if (JsonText.FindUnstorable(e, $"events[{index}]", out var unstorable) is { } where)
        {
            error = new("invalid_string", $"This value {unstorable}.", where);
            return null;
        }

        var assigned = eventId is null;
        eventId ??= Guid.NewGuid().ToString("D");
        var measures = config.Measures.ContainsKey("events") ? new[] { new MeasureValue("events", 1) } : [];
        var dims = new List<DimValue>(2);
        if (config.Dimensions.Contains("event_type")) dims.Add(new DimValue("event_type", eventType!));
        if (config.Dimensions.Contains("site_id")) dims.Add(new DimValue("site_id", siteId));
        var payload = Payload(e, assigned ? eventId : null, JsonText.TryGetProperty(e, "site_id", out _) ? null : siteId,
            JsonText.TryGetProperty(e, "path", out _) ? null : path, client);
        return new CollectedEvent(new ValidEvent(visitorId ?? sessionId ?? Anonymous, eventType!, at, eventId, measures, dims.ToArray(), payload), siteId);
    }

    /// <summary>The path of a URL (absolute or not), without its query or fragment; null when there is none.</summary>
    public static string? PathOf(string? url)
    {
        if (string.IsNullOrEmpty(url)) return null;
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return Truncate(uri.AbsolutePath, MaxPathLength);
        var end = url.IndexOfAny(['?', '#']);
        var path = end < 0 ? url : url[..end];
        return path.StartsWith('/') ? Truncate(path, MaxPathLength) : null;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    private static string? OptionalString(JsonElement e, string name, int index, int maxLength, ref ValidationError? error)
    {
        if (error is not null || !JsonText.TryGetProperty(e, name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return EventValidator.RequiredString(e, name, index, maxLength, ref error);
    }

    /// <summary>The raw event as received, then what Tally added: the event id it assigned, the default site, the path taken
    /// from the URL, and the client's address and user agent.</summary>
    private static string Payload(JsonElement raw, string? assignedId, string? defaultSite, string? derivedPath, CollectClient client)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var property in raw.EnumerateObject())
                if (property.Name is not ("ip_address" or "user_agent")) property.WriteTo(json);
            if (assignedId is not null) json.WriteString("event_id", assignedId);
            if (defaultSite is not null) json.WriteString("site_id", defaultSite);
            if (derivedPath is not null) json.WriteString("path", derivedPath);
            if (client.IpAddress is { } ip) json.WriteString("ip_address", ip);
            else json.WriteNull("ip_address");
            if (client.UserAgent is { } agent) json.WriteString("user_agent", Truncate(agent, MaxUserAgentLength));
            else json.WriteNull("user_agent");
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
