using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Shouldly;
using Tally.Cli.Verify;
using Xunit;

namespace Tally.Cli.Tests;

/// <summary><c>tally verify run</c> against a stand-in API whose answers carry the per-event status <c>retry</c>.</summary>
[Collection("console")]
public class VerifyWorkloadRetryTests
{
    [Fact]
    public async Task events_answered_retry_are_sent_again_with_their_keys_until_acknowledged()
    {
        // Users 0-4 are on a "sick silo": each of their events is answered retry twice before it is accepted, and a
        // request holding only such events is a 503, as the contract says.
        using var api = new RetryingApi(sickUsers: 5, retriesPerEvent: 2);
        var dir = Directory.CreateTempSubdirectory("tally-verify-run-").FullName;
        try
        {
            var (exit, output, _) = await CliRun.RunAsync("verify", "run", "--url", api.Url, "--admin-key", "admin-key-of-the-stand-in",
                "--dir", dir, "--seconds", "2", "--users", "20", "--batch", "10", "--concurrency", "2", "--drain-seconds", "30");
            exit.ShouldBe(0, output);

            var sent = File.ReadLines(Path.Combine(dir, "workload.ndjson")).Select(l => (string)JsonNode.Parse(l)!["key"]!).ToList();
            var acks = File.ReadLines(Path.Combine(dir, "acks.ndjson")).Select(l => JsonNode.Parse(l)!).ToList();
            sent.Count.ShouldBeGreaterThan(0);
            acks.ShouldAllBe(a => (string)a["status"]! == "accepted");
            acks.Select(a => (string)a["key"]!).Order().ShouldBe(sent.Order(), "every sent key is acknowledged exactly once");
            api.AcceptedTwice.ShouldBeEmpty();
            api.Attempts.Where(a => a.Value > 1).ShouldNotBeEmpty("some events were answered retry and sent again");
            api.Attempts.Keys.Order().ShouldBe(sent.Order());

            var requests = VerifyRequest.ReadCsv(Path.Combine(dir, "requests.csv"));
            requests.ShouldContain(r => r.IsIngest && r.Status == 200 && r.Retry > 0 && r.Accepted > 0);
            requests.Where(r => r.IsIngest && r.Status == 200).Sum(r => r.Accepted).ShouldBe(sent.Count);
            requests.Where(r => r.IsIngest).Sum(r => r.Retry).ShouldBe(api.RetryAnswers);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Just enough of the HTTP API for the workload: tenant config and keys, stats (404), and events.</summary>
    private sealed class RetryingApi : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly int _sickUsers;
        private readonly int _retriesPerEvent;
        private readonly Lock _gate = new();
        private readonly Task _loop;

        public RetryingApi(int sickUsers, int retriesPerEvent)
        {
            (_sickUsers, _retriesPerEvent) = (sickUsers, retriesPerEvent);
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Url = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public Dictionary<string, int> Attempts { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Accepted { get; } = new(StringComparer.Ordinal);

        public List<string> AcceptedTwice { get; } = [];

        public int RetryAnswers { get; private set; }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                _ = Task.Run(() => Answer(context));
            }
        }

        private void Answer(HttpListenerContext context)
        {
            var request = context.Request;
            var path = request.Url!.AbsolutePath;
            var (status, body) = (request.HttpMethod, path) switch
            {
                ("PUT", _) when path.StartsWith("/v1/tenants/", StringComparison.Ordinal) => (200, "{}"),
                ("POST", _) when path.EndsWith("/keys", StringComparison.Ordinal) => (200, """{"key_id":"k1","key":"key-of-the-stand-in","role":"ingest"}"""),
                ("GET", _) => (404, """{"error":{"code":"not_found","message":"no such user"}}"""),
                ("POST", "/v1/events") => Events(new StreamReader(request.InputStream).ReadToEnd()),
                _ => (400, """{"error":{"code":"unexpected","message":"not part of the stand-in"}}"""),
            };
            if (status == 503) context.Response.Headers["Retry-After"] = "1";
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Response.OutputStream.Write(bytes);
            context.Response.Close();
        }

        private (int, string) Events(string text)
        {
            var results = new JsonArray();
            int accepted = 0, retry = 0;
            lock (_gate)
            {
                foreach (var e in JsonNode.Parse(text)!["events"]!.AsArray())
                {
                    var key = (string)e!["idempotency_key"]!;
                    var user = int.Parse(((string)e["user_id"]!)["v-user-".Length..], System.Globalization.CultureInfo.InvariantCulture);
                    var attempt = Attempts[key] = Attempts.GetValueOrDefault(key) + 1;
                    string outcome;
                    if (user < _sickUsers && attempt <= _retriesPerEvent) { outcome = "retry"; retry++; }
                    else if (Accepted.Add(key)) { outcome = "accepted"; accepted++; }
                    else { outcome = "duplicate"; AcceptedTwice.Add(key); }
                    results.Add(new JsonObject { ["idempotency_key"] = key, ["status"] = outcome });
                }
                if (accepted == 0 && retry == results.Count)
                    return (503, """{"error":{"code":"outcome_unknown","message":"every event's silo is sick"}}""");
                RetryAnswers += retry;
            }
            return (200, new JsonObject { ["accepted"] = accepted, ["duplicates"] = 0, ["rejected"] = 0, ["results"] = results }.ToJsonString());
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            try
            {
                _loop.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // stopped while waiting for a request
            }
        }
    }
}
