using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Tally.Api.Tests;

/// <summary>
/// A proxy on its own loopback port in front of the test API. It forwards every request (method, path, query, body,
/// the headers a client sets) and hands back the API's answer, except that it loses the next <see cref="LoseAnswers"/>
/// answers to POSTs after the API has them, answering 503 with <c>Retry-After: 1</c>: what a dropped connection or an
/// overloaded balancer looks like to a client. It keeps every POST body it saw.
/// </summary>
public sealed class LossyProxy(HttpClient api) : IAsyncDisposable
{
    private WebApplication? _app;
    private int _lose;

    public string Url { get; private set; } = "";
    public ConcurrentQueue<string> PostBodies { get; } = new();

    /// <summary>How many of the next POST answers to lose.</summary>
    public int LoseAnswers { set => Interlocked.Exchange(ref _lose, value); }

    public async Task<LossyProxy> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(ForwardAsync);
        await _app.StartAsync();
        Url = _app.Urls.First();
        return this;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        using var forward = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
        if (body.Length > 0)
            forward.Content = new StringContent(body, System.Text.Encoding.UTF8, context.Request.ContentType?.Split(';')[0] ?? "application/json");
        foreach (var header in new[] { "Authorization", "Origin", "User-Agent", "Access-Control-Request-Method", "Access-Control-Request-Headers" })
            if (context.Request.Headers.TryGetValue(header, out var value)) forward.Headers.TryAddWithoutValidation(header, value.ToString());
        using var answer = await api.SendAsync(forward);
        var text = await answer.Content.ReadAsStringAsync();
        foreach (var h in answer.Headers.Where(h => h.Key.StartsWith("Access-Control-", StringComparison.Ordinal) || h.Key == "Retry-After"))
            context.Response.Headers[h.Key] = h.Value.ToArray();
        if (context.Request.Method == "POST")
        {
            PostBodies.Enqueue(body);
            if (Interlocked.Decrement(ref _lose) >= 0)
            {
                context.Response.StatusCode = 503;
                context.Response.Headers.RetryAfter = "1";
                return;
            }
        }
        context.Response.StatusCode = (int)answer.StatusCode;
        context.Response.ContentType = answer.Content.Headers.ContentType?.ToString();
        await context.Response.WriteAsync(text);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
