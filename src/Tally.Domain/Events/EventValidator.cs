using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tally.Domain.Config;
using Tally.Domain.Stats;

namespace Tally.Domain.Events;

/// <summary>
/// Applies the field rules of <c>POST /v1/events</c> to one event. Every error names the field by its
/// path in the request (<c>events[3].measures.co2_saved_kg</c>). Whatever passes can be stored: no
/// string holds NUL or an unpaired surrogate, every number fits its column, every measure value is
/// within its bounds (<see cref="MeasureBounds"/>), so nothing valid can fail the commit.
/// </summary>
public static partial class EventValidator
{
    public const int MaxUserIdLength = 128;
    public const int MaxActionLength = 64;
    public const int MaxKeyLength = 128;
    public const int MaxDimValueLength = 128;
    public const int MaxPayloadBytes = 16 * 1024;
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromHours(1);

    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,64}$")]
    private static partial Regex ActionRegex();

    // RFC 3339 date-time: full date, 'T', time, optional fraction, Z or offset.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339Regex();

    /// <summary>The idempotency key as sent, if it is a storable string (results echo it even for rejected events).</summary>
    public static string? KeyOf(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && JsonText.TryGetProperty(e, "idempotency_key", out var k) && JsonText.TryGetString(k, out var key)
            ? key
            : null;

    /// <summary>Validates the event at <paramref name="index"/> of the request. Field paths are built only
    /// for the error, never for a valid event (this runs once per event).</summary>
    public static ValidEvent? Validate(JsonElement e, int index, TenantConfig config, DateTimeOffset now, out ValidationError? error)
    {
        error = null;
        if (e.ValueKind != JsonValueKind.Object)
        {
            error = new("invalid_event", "Each event must be a JSON object.", FieldPath(index));
            return null;
        }

        var userId = RequiredString(e, "user_id", index, MaxUserIdLength, ref error);
        if (error is not null) return null;

        var action = RequiredString(e, "action", index, MaxActionLength, ref error);
        if (error is not null) return null;
        if (!ActionRegex().IsMatch(action!))
        {
            error = new("invalid_format", "action may only contain letters, digits and _ . : -", FieldPath(index, "action"));
            return null;
        }

        var measures = ReadMeasures(e, index, config, ref error);
        if (error is not null) return null;

        var dims = ReadDims(e, index, config, ref error);
        if (error is not null) return null;

        var occurredAt = ReadOccurredAt(e, index, config, now, ref error);
        if (error is not null) return null;

        var key = RequiredString(e, "idempotency_key", index, MaxKeyLength, ref error);
        if (error is not null) return null;

        var payload = ReadPayload(e, index, ref error);
        if (error is not null) return null;

        return new ValidEvent(userId!, action!, occurredAt, key!, measures!, dims!, payload);
    }

    /// <summary>Whether a dimension value could have been sent with an event (so a scope naming it can match anything):
    /// 1 to 128 characters, and for <c>country</c> an assigned ISO 3166-1 alpha-2 code in upper case.</summary>
    public static bool IsPossibleDimValue(string dimension, string value) =>
        value.Length is > 0 and <= MaxDimValueLength && (dimension != "country" || CountryCodes.IsAssigned(value));

    private static string FieldPath(int index) => $"events[{index}]";

    internal static string FieldPath(int index, string field) => $"events[{index}].{field}";

    private static string FieldPath(int index, string field, string name) => $"events[{index}].{field}.{JsonText.Printable(name)}";

    internal static string? RequiredString(JsonElement e, string name, int index, int maxLength, ref ValidationError? error)
    {
        if (!JsonText.TryGetProperty(e, name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            error = new("missing_field", $"{name} is required.", FieldPath(index, name));
            return null;
        }
        if (v.ValueKind != JsonValueKind.String)
        {
            error = new("invalid_type", $"{name} must be a string.", FieldPath(index, name));
            return null;
        }
        if (!JsonText.TryGetString(v, out var s))
        {
            error = new("invalid_string", $"{name} holds a NUL character or an unpaired surrogate, which cannot be stored.", FieldPath(index, name));
            return null;
        }
        if (s.Length == 0 || s.Length > maxLength)
        {
            error = new("invalid_length", $"{name} must be 1 to {maxLength} characters.", FieldPath(index, name));
            return null;
        }
        return s;
    }

    private static MeasureValue[]? ReadMeasures(JsonElement e, int index, TenantConfig config, ref ValidationError? error)
    {
        if (!JsonText.TryGetProperty(e, "measures", out var m) || m.ValueKind == JsonValueKind.Null)
        {
            error = new("missing_field", "measures is required.", FieldPath(index, "measures"));
            return null;
        }
        if (m.ValueKind != JsonValueKind.Object)
        {
            error = new("invalid_type", "measures must be an object of name to number.", FieldPath(index, "measures"));
            return null;
        }
        var values = new List<MeasureValue>(4);
        foreach (var prop in m.EnumerateObject())
        {
            if (!JsonText.TryGetName(prop, out var name) || !config.Measures.TryGetValue(name, out var rule))
            {
                error = new("unknown_measure", $"'{JsonText.Printable(name)}' is not a measure declared by this tenant.", FieldPath(index, "measures", name));
                return null;
            }
            if (prop.Value.ValueKind != JsonValueKind.Number)
            {
                error = new("invalid_type", $"{name} must be a number.", FieldPath(index, "measures", name));
                return null;
            }
            if (!prop.Value.TryGetDecimal(out var value))
            {
                error = new("invalid_number", $"{name} must be a finite number within ±{MeasureBounds.MaxAbsValue:0}.", FieldPath(index, "measures", name));
                return null;
            }
            if (value < rule.EffectiveMin || value > rule.EffectiveMax)
            {
                error = new("measure_out_of_range",
                    $"{name} must be between {rule.EffectiveMin.ToString(CultureInfo.InvariantCulture)} and {rule.EffectiveMax.ToString(CultureInfo.InvariantCulture)}.",
                    FieldPath(index, "measures", name));
                return null;
            }
            foreach (var seen in values)
                if (seen.Name == name)
                {
                    error = new("duplicate_measure", $"{name} appears twice.", FieldPath(index, "measures", name));
                    return null;
                }
            values.Add(new MeasureValue(name, value));
        }
        if (values.Count == 0)
        {
            error = new("missing_field", "measures must have at least one entry.", FieldPath(index, "measures"));
            return null;
        }
        return values.ToArray();
    }

    private static DimValue[]? ReadDims(JsonElement e, int index, TenantConfig config, ref ValidationError? error)
    {
        if (!JsonText.TryGetProperty(e, "dims", out var d) || d.ValueKind == JsonValueKind.Null)
            return [];
        if (d.ValueKind != JsonValueKind.Object)
        {
            error = new("invalid_type", "dims must be an object of name to string.", FieldPath(index, "dims"));
            return null;
        }
        var dims = new List<DimValue>(2);
        foreach (var prop in d.EnumerateObject())
        {
            if (!JsonText.TryGetName(prop, out var name) || !config.Dimensions.Contains(name))
            {
                error = new("unknown_dimension", $"'{JsonText.Printable(name)}' is not a dimension declared by this tenant.", FieldPath(index, "dims", name));
                return null;
            }
            if (prop.Value.ValueKind != JsonValueKind.String)
            {
                error = new("invalid_type", $"{name} must be a string.", FieldPath(index, "dims", name));
                return null;
            }
            if (!JsonText.TryGetString(prop.Value, out var value))
            {
                error = new("invalid_string", $"{name} holds a NUL character or an unpaired surrogate, which cannot be stored.", FieldPath(index, "dims", name));
                return null;
            }
            if (value.Length == 0 || value.Length > MaxDimValueLength)
            {
                error = new("invalid_length", $"{name} must be 1 to {MaxDimValueLength} characters.", FieldPath(index, "dims", name));
                return null;
            }
            if (name == "country" && !CountryCodes.IsAssigned(value))
            {
                error = new("invalid_country", "country must be an ISO 3166-1 alpha-2 code in upper case, like US.", FieldPath(index, "dims", name));
                return null;
            }
            foreach (var seen in dims)
                if (seen.Name == name)
                {
                    error = new("duplicate_dimension", $"{name} appears twice.", FieldPath(index, "dims", name));
                    return null;
                }
            dims.Add(new DimValue(name, value));
        }
        return dims.ToArray();
    }

    private static DateTimeOffset ReadOccurredAt(JsonElement e, int index, TenantConfig config, DateTimeOffset now, ref ValidationError? error) =>
        ReadInstant(e, "occurred_at", index, config, now, ref error);

    /// <summary>An event's instant (<paramref name="field"/>: <c>occurred_at</c>, or a collected event's <c>timestamp</c>):
    /// RFC 3339 with an offset, at most an hour ahead, not older than the tenant's raw retention.</summary>
    internal static DateTimeOffset ReadInstant(JsonElement e, string field, int index, TenantConfig config, DateTimeOffset now, ref ValidationError? error)
    {
        if (!JsonText.TryGetProperty(e, field, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            error = new("missing_field", $"{field} is required.", FieldPath(index, field));
            return default;
        }
        if (v.ValueKind != JsonValueKind.String)
        {
            error = new("invalid_type", $"{field} must be an RFC 3339 string.", FieldPath(index, field));
            return default;
        }
        if (!JsonText.TryGetString(v, out var text) || !Rfc3339Regex().IsMatch(text) ||
            !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
        {
            error = new("invalid_timestamp", $"{field} must be RFC 3339 with an offset, like 2025-11-22T10:00:00Z.", FieldPath(index, field));
            return default;
        }
        if (at > now + MaxFutureSkew)
        {
            error = new($"{field}_in_future", $"{field} is more than 1 hour in the future.", FieldPath(index, field));
            return default;
        }
        if (at < config.Retention.OldestKept(now))
        {
            error = new($"{field}_too_old", $"{field} is older than the raw retention of {config.Retention.Description}.", FieldPath(index, field));
            return default;
        }
        return at;
    }

    private static string? ReadPayload(JsonElement e, int index, ref ValidationError? error)
    {
        if (!JsonText.TryGetProperty(e, "payload", out var p) || p.ValueKind == JsonValueKind.Null) return null;
        // Strings are checked first: GetRawText throws on invalid UTF-8, FindUnstorable names where it is.
        if (JsonText.FindUnstorable(p, FieldPath(index, "payload"), out var problem) is { } at)
        {
            error = new("invalid_payload", $"This payload value {problem}.", at);
            return null;
        }
        var payload = p.GetRawText();
        if (payload.Length > MaxPayloadBytes || System.Text.Encoding.UTF8.GetByteCount(payload) > MaxPayloadBytes)
        {
            error = new("payload_too_large", $"payload must be at most {MaxPayloadBytes} bytes serialized.", FieldPath(index, "payload"));
            return null;
        }
        return payload;
    }
}
