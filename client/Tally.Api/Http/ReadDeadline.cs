using Microsoft.Extensions.Options;
using Tally.Api.Hosting;

namespace Tally.Api.Http;

/// <summary>
/// Ends a read's wait for the cluster after <see cref="ApiOptions.ReadTimeoutMs"/>: the request is answered 503
/// <c>unavailable</c> with Retry-After (the exception mapping's answer to a timeout) while the grain call it abandoned
/// finishes unobserved. Read handlers only return a result, so nothing touches the request after it was answered.
/// Orleans' own response timeout is longer; this is what the caller of the HTTP API waits at most.
/// </summary>
internal static class ReadDeadline
{
    public static TBuilder WithReadDeadline<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var services = context.HttpContext.RequestServices;
            var timeout = TimeSpan.FromMilliseconds(services.GetRequiredService<IOptions<ApiOptions>>().Value.ReadTimeoutMs);
            return await next(context).AsTask().WaitAsync(timeout, services.GetRequiredService<TimeProvider>());
        });
}
