using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>A silo serving the API itself (Tally:Silo:ApiUrls, decision 024) answers as an API instance of its own does.</summary>
[Collection(ApiCollection.Name)]
public class SiloHostedApiTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    [Fact]
    public async Task the_silos_own_api_writes_and_reads_the_same_data_as_a_separate_instance()
    {
        using var hosted = await Fixture.StartSiloHostedApiAsync();
        var t = await Fixture.CreateTenantAsync("UTC");

        // Written through the silo's API, read through a separate instance; then the other way round.
        var (status, body) = await Send(hosted, HttpMethod.Post, "/v1/events", t.IngestKey, Batch(Event("h", "k1", 2.5m), Event("h", "k1", 2.5m)));
        status.ShouldBe(200);
        body!["accepted"]!.GetValue<int>().ShouldBe(1);
        body["duplicates"]!.GetValue<int>().ShouldBe(1);
        var (_, separate) = await Get(t.ReadKey, "/v1/users/h/stats");
        separate!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(2.5m);

        await Post(t.IngestKey, Batch(Event("h", "k2", 1m)));
        var (readStatus, own) = await Send(hosted, HttpMethod.Get, "/v1/users/h/stats", t.ReadKey);
        readStatus.ShouldBe(200);
        own!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(3.5m);
        own["ranks"]!["co2_saved_kg"]!["global"]!["all_time"]!.GetValue<long>().ShouldBe(1);

        // The same pipeline: authentication, and bad input named by field and changing nothing.
        (await Send(hosted, HttpMethod.Get, "/v1/users/h/stats", "tly_read_not-a-key")).Status.ShouldBe(401);
        var (badStatus, bad) = await Send(hosted, HttpMethod.Post, "/v1/events", t.IngestKey, Batch(Event("h", "k3", -1m)));
        badStatus.ShouldBe(200);
        bad!["results"]![0]!["error"]!["field"]!.GetValue<string>().ShouldBe("events[0].measures.co2_saved_kg");
        var (_, after) = await Get(t.ReadKey, "/v1/users/h/stats");
        after!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(3.5m);

        var (readyStatus, ready) = await Send(hosted, HttpMethod.Get, "/health/ready", null);
        readyStatus.ShouldBe(200);
        ready!["checks"]!["cluster"]!["active_silos"]!.GetValue<int>().ShouldBe(1);
    }

    private static async Task<(int Status, JsonObject? Body)> Send(HttpClient http, HttpMethod method, string path, string? key, JsonNode? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
    }
}
