using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;
using Orleans.Runtime;
using StackExchange.Redis;
using Tally.Postgres.EventLog;

namespace Tally.Api.Http;

/// <summary>
/// The one place where failures become answers. A dependency that cannot answer (PostgreSQL, the
/// cluster) is 503 with <c>Retry-After</c>; a request the framework could not bind is 400 naming the
/// parameter; a body over the limit is 413. Anything else is a bug: 500, logged with the request.
/// </summary>
internal sealed partial class ErrorMapping(ILogger<ErrorMapping> logger) : IExceptionHandler
{
    [GeneratedRegex("""Failed to bind parameter "[^"]*? (?<name>[A-Za-z_][A-Za-z0-9_]*)" from""")]
    private static partial Regex BindFailure();

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (context.Response.HasStarted) return false;
        switch (exception)
        {
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                await ApiError.WriteAsync(context, 413, "body_too_large", "The request body is larger than the configured limit.");
                return true;
            case BadHttpRequestException bad when BindFailure().Match(bad.Message) is { Success: true } match:
                // [AsParameters] records name the property ("Limit"); the query string has "limit".
                var name = System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(match.Groups["name"].Value);
                await ApiError.WriteAsync(context, 400, "invalid_" + name, $"{name} must be a whole number.", name);
                return true;
            case BadHttpRequestException bad:
                await ApiError.WriteAsync(context, bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : 400, "invalid_request", bad.Message);
                return true;
            case KeyStoppedException stopped:
                await ApiError.WriteAsync(context, 401, "unauthorized", stopped.Message);
                return true;
            case TenantAccessException denied:
                await ApiError.WriteAsync(context, 403, "forbidden", denied.Message);
                return true;
            case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                return true; // the client went away; nobody reads an answer
        }
        if (UnavailableDependency(exception) is { } dependency)
        {
            logger.LogWarning("{Method} {Path}: {Dependency} unavailable ({Error}); answered 503.", context.Request.Method, context.Request.Path, dependency, exception.Message);
            context.Response.Headers.RetryAfter = "1";
            await ApiError.WriteAsync(context, 503, "unavailable", $"{dependency} cannot answer right now; retry shortly.");
            return true;
        }
        logger.LogError(exception, "{Method} {Path} failed.", context.Request.Method, context.Request.Path);
        await ApiError.WriteAsync(context, 500, "internal_error", "The server failed to handle this request; it has been logged.");
        return true;
    }

    /// <summary>The dependency an exception says is down, or null if it is not an availability failure.</summary>
    internal static string? UnavailableDependency(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case Tally.Contracts.DependencyUnavailableException remote:
                    return remote.Dependency;
                case NpgsqlException:
                case EventLogUnavailableException:
                    return "PostgreSQL";
                case Orleans.Serialization.CodecNotFoundException:
                    // A silo failed with an exception it could not send: report the cluster, not a bug of the request.
                    return "The cluster";
                case OrleansException: // SiloUnavailableException, OrleansMessageRejectionException, ...
                case TimeoutException:
                    return "The cluster";
                case RedisException:
                    return "Redis";
                case SocketException:
                    return "A dependency";
            }
        }
        return null;
    }

    /// <summary>Gives an error body to 4xx answers that have none (unknown routes, wrong methods, ...).</summary>
    public static Task WriteStatusBody(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var request = context.Request;
        var (code, message) = context.Response.StatusCode switch
        {
            404 => ("not_found", $"Nothing answers {request.Method} {request.Path}."),
            405 => ("method_not_allowed", $"{request.Path} does not accept {request.Method}."),
            406 => ("not_acceptable", "Only application/json can be returned."),
            411 => ("length_required", "A Content-Length header is required."),
            413 => ("body_too_large", "The request body is larger than the configured limit."),
            414 => ("uri_too_long", "The request URI is too long."),
            415 => ("unsupported_media_type", "The body must be application/json."),
            431 => ("headers_too_large", "The request headers are too large."),
            var other => ("http_" + other, $"The request failed with status {other}."),
        };
        return ApiError.WriteAsync(context, context.Response.StatusCode, code, message);
    }
}

/// <summary>The caller's key may not act for any tenant here (no tenant key, or its tenant is gone): 403.</summary>
internal sealed class TenantAccessException(string message) : Exception(message);

/// <summary>The key is valid but its tenant is being removed or is gone: 401, as for a revoked key.</summary>
internal sealed class KeyStoppedException(string message) : Exception(message);
