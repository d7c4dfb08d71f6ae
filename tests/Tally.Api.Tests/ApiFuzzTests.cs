using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Shouldly;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// A property-based fuzzer over every endpoint: generated methods, paths (percent-encoded garbage, NUL,
/// invalid UTF-8), query strings, keys and bodies (events of every shape, hostile strings, huge numbers,
/// nested payloads, random bytes). Properties: no answer is 5xx, and a rejected request changes nothing
/// (the fuzz tenant's events, config version and keys move only by what 2xx answers reported).
/// </summary>
[Collection(ApiCollection.Name)]
public class ApiFuzzTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private const int Requests = 20_000;

    public sealed record FuzzRequest(string Method, string Path, int Key, string? ContentType, byte[]? Body)
    {
        public override string ToString() =>
            $"{Method} {Path} key#{Key} {ContentType} {(Body is null ? "" : Encoding.UTF8.GetString(Body.AsSpan(0, Math.Min(Body.Length, 400))))}";
    }

    // ----- strings: ordinary, empty, long, and every kind the log cannot store -----
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[0, 12],
        Gen.Const(""), Gen.Const("u1"), Gen.Const("US"), Gen.Const("de"), Gen.Const("2025-11"), Gen.Const("all_time"),
        Gen.Const("a\u0000b"), Gen.Const("\ud800"), Gen.Const("x\udc00y"), Gen.Const("😀"), Gen.Const("'\"<>&\\"),
        Gen.Int[100, 300].Select(n => new string('x', n)));

    /// <summary>A JSON string literal; lone surrogates and controls become \u escapes, as a hostile client would send them.</summary>
    private static string Literal(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            if (c is '"' or '\\') sb.Append('\\').Append(c);
            else if (c < 0x20 || char.IsSurrogate(c)) sb.Append("\\u").Append(((int)c).ToString("x4"));
            else sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    private static readonly Gen<string> Number = Gen.OneOf(
        Gen.Int[-5, 100].Select(i => i.ToString()), Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R") : "1"),
        Gen.Const("1e400"), Gen.Const("-1e400"), Gen.Const("79228162514264337593543950335"), Gen.Const("1e1000000"),
        Gen.Const("0.000000000000000000000000000001"), Gen.Const("1000000000001"), Gen.Const("-0"));

    private static Gen<string> Value(int depth) => depth <= 0
        ? Gen.OneOf(Text.Select(Literal), Number, Gen.Const("null"), Gen.Const("true"))
        : Gen.OneOf(
            Text.Select(Literal), Number, Gen.Const("null"), Gen.Const("false"),
            Value(depth - 1).Array[0, 4].Select(items => "[" + string.Join(",", items) + "]"),
            Gen.Select(Text, Value(depth - 1)).Array[0, 4].Select(props => "{" + string.Join(",", props.Select(p => Literal(p.Item1) + ":" + p.Item2)) + "}"));

    private static readonly Gen<string> Timestamp = Gen.OneOf(
        Gen.Int[-600, 80].Select(h => Literal(ApiFixture.Now.AddHours(h).ToString("yyyy-MM-ddTHH:mm:ssZ"))),
        Gen.Const("\"2025-11-22T10:00:00+01:00\""), Gen.Const("\"2019-01-01T00:00:00Z\""), Gen.Const("\"2025-13-40T99:99:99Z\""),
        Text.Select(Literal), Number);

    private static readonly Gen<string> Measures = Gen.OneOf(
        Gen.Select(Gen.OneOf(Gen.Const("co2_saved_kg"), Gen.Const("sales"), Text), Gen.OneOf(Number, Text.Select(Literal)))
            .Array[0, 3].Select(ms => "{" + string.Join(",", ms.Select(m => Literal(m.Item1) + ":" + m.Item2)) + "}"),
        Value(1));

    private static readonly Gen<string> Dims = Gen.OneOf(
        Gen.Select(Gen.OneOf(Gen.Const("country"), Gen.Const("org"), Text), Text)
            .Array[0, 3].Select(ds => "{" + string.Join(",", ds.Select(d => Literal(d.Item1) + ":" + Literal(d.Item2))) + "}"),
        Value(1));

    /// <summary>An event: each field present or not, of the right kind or not.</summary>
    private static readonly Gen<string> AnyEvent = Gen.Select(
            Gen.Select(Gen.Bool, Gen.OneOf(Gen.Int[0, 30].Select(i => Literal($"fuzz-user-{i}")), Text.Select(Literal), Number)),
            Gen.Select(Gen.Bool, Gen.OneOf(Gen.Const("\"bike\""), Gen.Const("\"a b\""), Text.Select(Literal))),
            Gen.Select(Gen.Bool, Measures),
            Gen.Select(Gen.Bool, Dims),
            Gen.Select(Gen.Bool, Timestamp),
            Gen.Select(Gen.Bool, Gen.OneOf(Gen.Long.Select(k => Literal($"fz{k}")), Text.Select(Literal), Number)),
            Gen.Select(Gen.Bool, Value(3)))
        .Select((user, action, measures, dims, at, key, payload) =>
        {
            var fields = new List<string>();
            if (user.Item1) fields.Add("\"user_id\":" + user.Item2);
            if (action.Item1) fields.Add("\"action\":" + action.Item2);
            if (measures.Item1) fields.Add("\"measures\":" + measures.Item2);
            if (dims.Item1) fields.Add("\"dims\":" + dims.Item2);
            if (at.Item1) fields.Add("\"occurred_at\":" + at.Item2);
            if (key.Item1) fields.Add("\"idempotency_key\":" + key.Item2);
            if (payload.Item1) fields.Add("\"payload\":" + payload.Item2);
            return "{" + string.Join(",", fields) + "}";
        });

    /// <summary>An event that passes every rule, so the write path is exercised too.</summary>
    private static readonly Gen<string> GoodEvent = Gen.Select(Gen.Int[0, 30], Gen.Int[0, 10_000], Gen.Int[-200, 0], Gen.Long)
        .Select((user, cents, hours, key) =>
            $$"""{"user_id":"fuzz-user-{{user}}","action":"bike","measures":{"co2_saved_kg":{{cents / 100m}}},"occurred_at":"{{ApiFixture.Now.AddHours(hours):yyyy-MM-ddTHH:mm:ssZ}}","idempotency_key":"good{{key}}"}""");

    private static readonly Gen<byte[]?> Body = Gen.OneOf<byte[]?>(
        Gen.OneOf(GoodEvent, GoodEvent, AnyEvent).Array[1, 12].Select(es => (byte[]?)Encoding.UTF8.GetBytes("{\"events\":[" + string.Join(",", es) + "]}")),
        AnyEvent.Array[0, 12].Select(es => (byte[]?)Encoding.UTF8.GetBytes("{\"events\":[" + string.Join(",", es) + "]}")),
        AnyEvent.Select(e => (byte[]?)Encoding.UTF8.GetBytes(e)),
        AnyEvent.Array[0, 3].Select(es => (byte[]?)Encoding.UTF8.GetBytes("[" + string.Join(",", es) + "]")),
        Value(3).Select(v => (byte[]?)Encoding.UTF8.GetBytes(v)),
        Gen.Select(Gen.OneOf(Gen.Const("leaderboards"), Gen.Const("measures"), Gen.Const("checkpoint"), Gen.Const("ratios"), Gen.Const("retention"), Text), Value(3))
            .Array[0, 4].Select(ps => (byte[]?)Encoding.UTF8.GetBytes("{\"time_zone\":\"Europe/Berlin\"," + string.Join(",", ps.Select(p => Literal(p.Item1) + ":" + p.Item2)).TrimStart(',') + "}")),
        Gen.OneOf(Gen.Const("ingest"), Gen.Const("read"), Gen.Const("admin"), Text).Select(r => (byte[]?)Encoding.UTF8.GetBytes("{\"role\":" + Literal(r) + "}")),
        Gen.Byte.Array[0, 64].Select(b => (byte[]?)b),
        Gen.Const((byte[]?)null));

    /// <summary>A path segment: ordinary text percent-encoded, or raw percent-encoded bytes (NUL, invalid UTF-8).</summary>
    private static readonly Gen<string> Segment = Gen.OneOf(
        Text.Select(s => Uri.EscapeDataString(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)))),
        Gen.Byte.Array[1, 6].Select(bytes => string.Concat(bytes.Select(b => "%" + b.ToString("X2")))),
        Gen.Const("co2_saved_kg"), Gen.Const("u1"), Gen.Const("global_all_time"), Gen.Const("%00"), Gen.Const("%ED%A0%80"));

    private static Gen<string> Path(string tenant) => Gen.OneOf(
        Gen.Const("/v1/events"),
        Segment.Select(u => $"/v1/users/{u}/stats"),
        Segment.Select(u => $"/v1/users/{u}/tiers"),
        Segment.Select(u => $"/v1/users/{u}"),
        Segment.Select(m => $"/v1/leaderboards/{m}"),
        Gen.Select(Segment, Segment).Select((m, u) => $"/v1/leaderboards/{m}/users/{u}"),
        Segment.Select(m => $"/v1/rollups/{m}"),
        Segment.Select(k => $"/v1/rollups/by-key/{k}"),
        Segment.Select(r => $"/v1/ratios/{r}"),
        Gen.OneOf(Gen.Const(tenant), Segment).Select(t => $"/v1/tenants/{t}"),
        Gen.OneOf(Gen.Const(tenant), Segment).Select(t => $"/v1/tenants/{t}/keys"),
        Gen.Select(Gen.OneOf(Gen.Const(tenant), Segment), Segment).Select((t, k) => $"/v1/tenants/{t}/keys/{k}"),
        Gen.Const("/v1/usage"), Gen.Const("/health/ready"), Gen.Const("/health/live"), Gen.Const("/openapi/v1.json"), Gen.Const("/metrics"),
        Gen.OneOf(Gen.Const("global"), Gen.Const("country_US"), Segment).Select(s => $"/v1/rollups/by-key/{s}_9999-12"),
        Segment.Array[0, 4].Select(parts => "/" + string.Join("/", parts)));

    private static readonly Gen<string> Query = Gen.Select(
            Gen.OneOf(Gen.Const("scope"), Gen.Const("period"), Gen.Const("key"), Gen.Const("offset"), Gen.Const("limit"), Gen.Const("around"),
                Gen.Const("at"), Gen.Const("month"), Gen.Const("measure"), Text.Select(Uri.EscapeDataString)),
            Gen.OneOf(Segment, Gen.Const("global"), Gen.Const("country:US"), Gen.Const("country:de"), Gen.Const("month"), Gen.Const("-1"),
                Gen.Const("99999999999"), Gen.Const("2025-W47"), Gen.Const("2025-11-22"),
                // Extreme but well-formed period keys: the last year a date holds, a week 53 of a year without one, day 0.
                Gen.Const("9999"), Gen.Const("9999-12"), Gen.Const("9999-W52"), Gen.Const("2025-W53"), Gen.Const("9999-12-31"),
                Gen.Const("2025-11-00"), Gen.Const("0001-01"), Gen.Const("0000-W01")))
        .Array[0, 4].Select(ps => ps.Length == 0 ? "" : "?" + string.Join("&", ps.Select(p => p.Item1 + "=" + p.Item2)));

    private static Gen<FuzzRequest> Request(string tenant) => Gen.Frequency(
        (49, Gen.Select(
                Gen.OneOf(Gen.Const("GET"), Gen.Const("POST"), Gen.Const("PUT"), Gen.Const("PATCH"), Gen.Const("DELETE")),
                Path(tenant), Query, Gen.Int[0, 4],
                Gen.OneOf(Gen.Const((string?)"application/json"), Gen.Const((string?)"text/plain"), Gen.Const((string?)null)),
                Body)
            .Select((method, path, query, key, type, body) => new FuzzRequest(method, path + query, key, type, body))),
        // A well-formed batch with the ingest key (key index 0) now and then: the random mix alone made one in about
        // 5,000 requests, so a run could exercise no write at all.
        (1, Gen.OneOf(GoodEvent, GoodEvent, AnyEvent).Array[1, 12]
            .Select(es => new FuzzRequest("POST", "/v1/events", 0, "application/json", Encoding.UTF8.GetBytes("{\"events\":[" + string.Join(",", es) + "]}")))));

    [Fact]
    public async Task no_request_gets_a_5xx_and_rejected_requests_change_nothing()
    {
        var t = await Fixture.CreateTenantAsync();
        // Its own API instance: garbage keys from this address must not trip the failed-auth limit of the shared one.
        var api = await Fixture.StartExtraApiAsync(new() { ["Tally:Api:FailedAuthPerMinute"] = "0" });
        string?[] keys = [t.IngestKey, t.ReadKey, t.AdminKey, "tly_read_garbage", null];
        var before = await StateAsync(t.Id);
        long accepted = 0, configChanges = 0, keysCreated = 0, requests = 0, fiveHundreds = 0;
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();

        await Request(t.Id).SampleAsync(async r =>
        {
            // Absolute, so a path starting with "//" stays a path and is not read as another host.
            var request = new HttpRequestMessage(new HttpMethod(r.Method), api.BaseAddress!.GetLeftPart(UriPartial.Authority) + r.Path);
            if (keys[r.Key] is { } key) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
            if (r.Body is not null)
            {
                request.Content = new ByteArrayContent(r.Body);
                if (r.ContentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(r.ContentType);
            }
            var response = await api.SendAsync(request);
            var status = (int)response.StatusCode;
            Interlocked.Increment(ref requests);
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            if (status >= 500)
            {
                Interlocked.Increment(ref fiveHundreds);
                throw new ShouldAssertException($"{status} for {r}: {await response.Content.ReadAsStringAsync()}");
            }
            if (status is >= 200 and < 300)
            {
                if (r.Method == "POST" && r.Path.StartsWith("/v1/events", StringComparison.Ordinal))
                    Interlocked.Add(ref accepted, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["accepted"]!.GetValue<int>());
                else if (r.Method is "PUT" or "PATCH" && r.Path.StartsWith($"/v1/tenants/{t.Id}", StringComparison.Ordinal) && !r.Path.Contains("/keys"))
                    Interlocked.Increment(ref configChanges);
                else if (r.Method == "POST" && r.Path.StartsWith($"/v1/tenants/{t.Id}/keys", StringComparison.Ordinal))
                    Interlocked.Increment(ref keysCreated);
            }
        }, iter: Requests, threads: 4, print: r => r.ToString());

        requests.ShouldBeGreaterThanOrEqualTo(Requests);
        fiveHundreds.ShouldBe(0);
        var after = await StateAsync(t.Id);
        // What changed is exactly what 2xx answers said; 4xx answers changed nothing.
        after.Events.ShouldBe(before.Events + accepted);
        after.ConfigVersion.ShouldBe(before.ConfigVersion + configChanges);
        after.Keys.ShouldBe(before.Keys + keysCreated);
        after.OtherTenantsEvents.ShouldBe(before.OtherTenantsEvents);
        // Enough of the traffic got past validation to exercise the write path, and enough was rejected.
        statuses.Keys.ShouldContain(200);
        statuses.Keys.ShouldContain(400);
        accepted.ShouldBeGreaterThan(0);
    }

    private async Task<(long Events, long ConfigVersion, long Keys, long OtherTenantsEvents)> StateAsync(string tenant) =>
    (
        await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", tenant)),
        await Fixture.Db.ScalarAsync<long>("SELECT version FROM tenants WHERE tenant_id = @t", ("t", tenant)),
        await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM api_keys WHERE tenant_id = @t", ("t", tenant)),
        await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id <> @t", ("t", tenant))
    );
}
