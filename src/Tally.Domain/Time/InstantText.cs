using System.Text.Json;

namespace Tally.Domain.Time;

/// <summary>Instants as the API writes them: RFC 3339 in the tenant's offset, exactly as System.Text.Json formats a
/// <see cref="DateTimeOffset"/> (fractional seconds only where there are any, <c>+00:00</c> for UTC), so a value
/// stored as text (a checkpoint instance's key, a change's data) reads the same as the API's own answers.</summary>
public static class InstantText
{
    public static string Format(DateTimeOffset instant, TimeZoneInfo zone) =>
        JsonSerializer.Serialize(TimeZoneInfo.ConvertTime(instant, zone)).Trim('"');
}
