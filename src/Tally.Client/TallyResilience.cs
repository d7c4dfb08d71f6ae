using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace Tally.Client;

/// <summary>
/// The retry and timeout around every request. Network failures, timeouts, 408 and 5xx (but 503) are retried for every
/// method: event requests are idempotent by their keys, so the same body sent twice is applied once. 429 and 503 are
/// retried here only for reads; for events the client's own loop waits (honouring <c>Retry-After</c>) and resends
/// only the events whose outcome is still unknown.
/// </summary>
internal static class TallyResilience
{
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, TallyClientOptions options)
    {
        if (options.TransportRetries > 0)
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.TransportRetries,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException or TimeoutRejectedException } => true,
                    { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.InternalServerError
                                                    or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout
                                                || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
                                                   && response.RequestMessage?.Method == HttpMethod.Get,
                    _ => false,
                }),
            });
        pipeline.AddTimeout(options.RequestTimeout);
    }
}
