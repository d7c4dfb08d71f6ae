using Tally.Api.Hosting;

namespace Tally.Api.Http;

/// <summary>
/// Runs before authentication. Requests no endpoint will take are answered here, so an unknown route is
/// 404 and a wrong method 405 (with the error body) rather than the deny-by-default 401/403 meant for
/// endpoints that forgot their policy. Kestrel's own limits are set above ours
/// (<see cref="ApiOptions.MaxRequestTargetBytes"/>, <see cref="ApiOptions.MaxRequestHeadersBytes"/>), so an
/// oversized request reaches this gate and gets 414 or 431 with an error body; only requests past Kestrel's
/// higher limits, or malformed on the wire (a NUL in the path), get Kestrel's bare status.
/// </summary>
internal static class RequestGate
{
    // The routing system's endpoint for "path matches, method does not"; it has no metadata of ours.
    private const string MethodNotAllowedEndpoint = "405 HTTP Method Not Supported";

    public static IApplicationBuilder UseRequestGate(this IApplicationBuilder app, ApiOptions options) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        var targetBytes = request.Path.Value?.Length + request.QueryString.Value?.Length ?? 0;
        if (targetBytes > options.MaxRequestTargetBytes)
        {
            context.Response.StatusCode = StatusCodes.Status414RequestUriTooLong;
            return;
        }
        long headerBytes = 0;
        foreach (var (name, values) in request.Headers) headerBytes += name.Length + values.ToString().Length + 4;
        if (headerBytes > options.MaxRequestHeadersBytes)
        {
            context.Response.StatusCode = StatusCodes.Status431RequestHeaderFieldsTooLarge;
            return;
        }
        var endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (endpoint.DisplayName == MethodNotAllowedEndpoint && endpoint.RequestDelegate is { } answer)
        {
            await answer(context);
            return;
        }
        await next(context);
    });
}
