using System.Text.Json.Nodes;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>A learner's weak areas and the adaptive-difficulty band over HTTP (API.md, Breakdowns and ratio values).
/// The fixture's now is 2025-11-22T12:00Z.</summary>
[Collection(ApiCollection.Name)]
public class BreakdownsApiTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static JsonObject Config() => new()
    {
        ["time_zone"] = "Europe/Berlin",
        ["measures"] = new JsonObject { ["answered"] = new JsonObject { ["min"] = 0 }, ["correct"] = new JsonObject { ["min"] = 0 } },
        ["dimensions"] = new JsonArray("topic", "question"),
        ["breakdowns"] = new JsonArray("topic"),
        ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "question"), ["periods"] = new JsonArray("all_time", "month") },
        ["ratios"] = new JsonObject { ["accuracy"] = new JsonObject { ["numerator"] = "correct", ["denominator"] = "answered" } },
    };

    private static int _key;

    private static JsonObject Answer(string user, string topic, string question, bool correct, string at = "2025-11-20T09:00:00Z") => new()
    {
        ["user_id"] = user, ["action"] = "answer", ["occurred_at"] = at, ["idempotency_key"] = $"a{Interlocked.Increment(ref _key)}",
        ["measures"] = new JsonObject { ["answered"] = 1, ["correct"] = correct ? 1 : 0 },
        ["dims"] = new JsonObject { ["topic"] = topic, ["question"] = question },
    };

    /// <summary><paramref name="right"/> of <paramref name="total"/> answers correct.</summary>
    private static IEnumerable<JsonObject> Answers(string user, string topic, string question, int right, int total, string at = "2025-11-20T09:00:00Z") =>
        Enumerable.Range(0, total).Select(i => Answer(user, topic, question, i < right, at));

    [Fact]
    public async Task a_learners_weak_areas_list_topics_by_accuracy_leaving_out_those_with_too_few_answers()
    {
        var t = await Fixture.CreateTenantAsync(Config());
        (await Post(t.IngestKey, Batch([
            .. Answers("ann", "cardiology", "q1", 22, 40),
            .. Answers("ann", "anatomy", "q2", 9, 10, "2025-10-05T09:00:00Z"), // last month: not in this month's breakdown
            .. Answers("ann", "biology", "q3", 11, 20),
            .. Answers("ann", "rare", "q4", 0, 2),
            Answer("ann", "neurology", "q5", true),
        ]))).Status.ShouldBe(200);

        var (status, body) = await Get(t.ReadKey, "/v1/users/ann/breakdown/topic?period=all_time&sort=ratio:accuracy&order=asc&min_denominator=5");
        status.ShouldBe(200);
        body!["user_id"]!.GetValue<string>().ShouldBe("ann");
        body["dimension"]!.GetValue<string>().ShouldBe("topic");
        body["period"]!.GetValue<string>().ShouldBe("all_time");
        body["key"]!.GetValue<string>().ShouldBe("all_time");
        body["total"]!.GetValue<long>().ShouldBe(3);
        var values = body["values"]!.AsArray();
        values.Select(v => (string)v!["value"]!).ShouldBe(["biology", "cardiology", "anatomy"]); // 0.55 ties break by value, then 0.9
        var cardiology = values[1]!;
        cardiology["measures"]!["answered"]!.GetValue<decimal>().ShouldBe(40m);
        cardiology["measures"]!["correct"]!.GetValue<decimal>().ShouldBe(22m);
        cardiology["actions"]!.GetValue<long>().ShouldBe(40);
        cardiology["ratios"]!["accuracy"]!.GetValue<decimal>().ShouldBe(0.55m);

        var (_, month) = await Get(t.ReadKey, "/v1/users/ann/breakdown/topic?period=month&limit=2&offset=1");
        month!["key"]!.GetValue<string>().ShouldBe("2025-11");
        month["total"]!.GetValue<long>().ShouldBe(4); // biology, cardiology, neurology, rare (anatomy was October)
        month["values"]!.AsArray().Select(v => (string)v!["value"]!).ShouldBe(["cardiology", "neurology"]);
        var (_, rare) = await Get(t.ReadKey, "/v1/users/ann/breakdown/topic?period=month&sort=measure:answered&order=desc");
        rare!["values"]!.AsArray().Select(v => (string)v!["value"]!).ShouldBe(["cardiology", "biology", "rare", "neurology"]);
        rare["values"]![2]!["ratios"]!["accuracy"]!.GetValue<decimal>().ShouldBe(0m); // min_denominator defaults to 1
        var (_, october) = await Get(t.ReadKey, "/v1/users/ann/breakdown/topic?period=month&key=2025-10");
        october!["values"]!.AsArray().Select(v => (string)v!["value"]!).ShouldBe(["anatomy"]);
    }

    [Theory]
    [InlineData("/v1/users/ann/breakdown/topic?sort=ratio:nope", 400, "sort")]
    [InlineData("/v1/users/ann/breakdown/topic?sort=measure:nope", 400, "sort")]
    [InlineData("/v1/users/ann/breakdown/topic?sort=speed", 400, "sort")]
    [InlineData("/v1/users/ann/breakdown/topic?order=up", 400, "order")]
    [InlineData("/v1/users/ann/breakdown/topic?period=decade", 400, "period")]
    [InlineData("/v1/users/ann/breakdown/topic?period=month&key=2025-13", 400, "key")]
    [InlineData("/v1/users/ann/breakdown/topic?min_denominator=-1", 400, "min_denominator")]
    [InlineData("/v1/users/ann/breakdown/topic?min_denominator=abc", 400, "min_denominator")]
    [InlineData("/v1/users/ann/breakdown/topic?limit=0", 400, "limit")]
    [InlineData("/v1/users/ann/breakdown/topic?offset=-1", 400, "offset")]
    [InlineData("/v1/users/ann/breakdown/question", 404, null)]
    [InlineData("/v1/users/nobody/breakdown/topic", 404, null)]
    [InlineData("/v1/ratios/accuracy/values?scope=question&min=x", 400, "min")]
    [InlineData("/v1/ratios/accuracy/values?scope=question&min=0.8&max=0.2", 400, "max")]
    [InlineData("/v1/ratios/accuracy/values", 400, "scope")]
    [InlineData("/v1/ratios/accuracy/values?scope=question:q1", 400, "scope")]
    [InlineData("/v1/ratios/accuracy/values?scope=topic", 400, "scope")]
    [InlineData("/v1/ratios/accuracy/values?scope=question&period=week", 400, "period")]
    [InlineData("/v1/ratios/accuracy/values?scope=question&order=sideways", 400, "order")]
    [InlineData("/v1/ratios/accuracy/values?scope=question&limit=1001", 400, "limit")]
    [InlineData("/v1/ratios/speed/values?scope=question", 404, null)]
    public async Task bad_parameters_are_a_400_naming_them_and_unknown_things_a_404(string path, int expected, string? field)
    {
        var t = await Fixture.CreateTenantAsync(Config());
        (await Post(t.IngestKey, Batch(Answer("ann", "cardiology", "q1", true)))).Status.ShouldBe(200);
        var (status, body) = await Get(t.ReadKey, path);
        status.ShouldBe(expected);
        if (field is not null) body!["error"]!["field"]!.GetValue<string>().ShouldBe(field);
    }

    [Fact]
    public async Task questions_whose_success_rate_lies_in_the_band_are_listed_from_the_rollups()
    {
        var t = await Fixture.CreateTenantAsync(Config());
        var events = new List<JsonObject>();
        // q1: 11/20 (0.55), q2: 8/20 (0.4, on the bound), q3: 15/20 (0.75), q4: 7/10 (0.7 but too few), q5: 14/20 (0.7)
        foreach (var (question, right, total) in new[] { ("q1", 11, 20), ("q2", 8, 20), ("q3", 15, 20), ("q4", 7, 10), ("q5", 14, 20) })
            for (var i = 0; i < total; i++)
                events.Add(Answer($"u{i}", "cardiology", question, i < right));
        (await Post(t.IngestKey, Batch([.. events]))).Status.ShouldBe(200);

        var (status, body) = await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/ratios/accuracy/values?scope=question&period=all_time&min=0.4&max=0.7&min_denominator=20"),
            r => r.Body?["total"]?.GetValue<long>() == 3, TimeSpan.FromSeconds(10), "the band to hold three questions");
        status.ShouldBe(200);
        body!["ratio"]!.GetValue<string>().ShouldBe("accuracy");
        body["scope"]!.GetValue<string>().ShouldBe("question");
        body["period"]!.GetValue<string>().ShouldBe("all_time");
        body["key"]!.GetValue<string>().ShouldBe("all_time");
        var values = body["values"]!.AsArray();
        values.Select(v => (string)v!["value"]!).ShouldBe(["q2", "q1", "q5"]);
        values[1]!["ratio"]!.GetValue<decimal>().ShouldBe(0.55m);
        values[1]!["numerator"]!.GetValue<decimal>().ShouldBe(11m);
        values[1]!["denominator"]!.GetValue<decimal>().ShouldBe(20m);
        values[1]!["users"]!.GetValue<long>().ShouldBe(20);

        var (_, desc) = await Get(t.ReadKey, "/v1/ratios/accuracy/values?scope=question&min=0.4&max=0.7&min_denominator=20&order=desc&limit=1&offset=1");
        desc!["total"]!.GetValue<long>().ShouldBe(3);
        desc["values"]!.AsArray().Select(v => (string)v!["value"]!).ShouldBe(["q1"]);
        var (_, month) = await Get(t.ReadKey, "/v1/ratios/accuracy/values?scope=question&period=month&min=0.7");
        month!["key"]!.GetValue<string>().ShouldBe("2025-11");
        month["values"]!.AsArray().Select(v => (string)v!["value"]!).ShouldBe(["q4", "q5", "q3"]);
    }
}
