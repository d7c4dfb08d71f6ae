using System.Net;
using System.Text.Json.Serialization;

namespace Tally.Client;

/// <summary>An error as the API reports it: a code, a message and, when one field is at fault, its path
/// (<c>events[3].measures.co2_saved_kg</c>).</summary>
public sealed record TallyError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("field")] string? Field = null);

/// <summary>A request the API refused (4xx) or could not serve (5xx after the retries).</summary>
public sealed class TallyApiException(HttpStatusCode status, TallyError error)
    : Exception($"{(int)status} {error.Code}: {error.Message}" + (error.Field is null ? "" : $" (field {error.Field})"))
{
    public HttpStatusCode StatusCode { get; } = status;
    public TallyError Error { get; } = error;
}
