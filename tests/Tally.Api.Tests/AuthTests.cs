using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace Tally.Api.Tests;

[Collection(ApiCollection.Name)]
public class AuthTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    [Fact]
    public async Task missing_or_unknown_key_is_401()
    {
        (await Fixture.Send(HttpMethod.Get, "/v1/users/u/stats", null)).StatusCode.ShouldBe(System.Net.HttpStatusCode.Unauthorized);
        var (status, body) = await Get("tly_read_not-a-real-key", "/v1/users/u/stats");
        status.ShouldBe(401);
        body!["error"]!["code"]!.GetValue<string>().ShouldBe("unauthorized");
    }

    [Fact]
    public async Task a_role_without_the_right_is_403()
    {
        var t = await Fixture.CreateTenantAsync();
        (await Post(t.ReadKey, Batch(Event("u", "k")))).Status.ShouldBe(403);
        (await Get(t.IngestKey, "/v1/users/u/stats")).Status.ShouldBe(403);
        (await Fixture.Send(HttpMethod.Put, $"/v1/tenants/{t.Id}", t.IngestKey, new JsonObject())).StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task another_tenants_admin_key_is_403_and_only_the_cluster_admin_creates_tenants()
    {
        var a = await Fixture.CreateTenantAsync();
        var b = await Fixture.CreateTenantAsync();
        (await Fixture.Send(HttpMethod.Post, $"/v1/tenants/{b.Id}/keys", a.AdminKey, new JsonObject { ["role"] = "read" }))
            .StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden);
        (await Fixture.Send(HttpMethod.Put, "/v1/tenants/brand-new", a.AdminKey, new JsonObject { ["measures"] = new JsonObject { ["m"] = new JsonObject() } }))
            .StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task tenants_are_sealed_the_tenant_comes_from_the_key()
    {
        var a = await Fixture.CreateTenantAsync();
        var b = await Fixture.CreateTenantAsync();
        (await Post(a.IngestKey, Batch(Event("shared-user", "k1")))).Body["accepted"]!.GetValue<int>().ShouldBe(1);
        (await Get(b.ReadKey, "/v1/users/shared-user/stats")).Status.ShouldBe(404);
        // The same idempotency key in another tenant is a different event.
        (await Post(b.IngestKey, Batch(Event("shared-user", "k1")))).Body["accepted"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public async Task tenant_admin_key_can_update_its_config_but_not_the_time_zone()
    {
        var t = await Fixture.CreateTenantAsync("Europe/Berlin");
        var config = new JsonObject { ["time_zone"] = "Europe/Berlin", ["measures"] = new JsonObject { ["co2_saved_kg"] = new JsonObject(), ["steps"] = new JsonObject() } };
        var ok = await Fixture.Send(HttpMethod.Put, $"/v1/tenants/{t.Id}", t.AdminKey, config);
        ok.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        (await ok.Content.ReadAsStringAsync()).ShouldContain("\"steps\"");
        config["time_zone"] = "Asia/Tokyo";
        (await Fixture.Send(HttpMethod.Put, $"/v1/tenants/{t.Id}", t.AdminKey, config)).StatusCode.ShouldBe(System.Net.HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task invalid_tenant_config_names_the_field()
    {
        var bad = new JsonObject { ["time_zone"] = "Mars/Base", ["measures"] = new JsonObject { ["m"] = new JsonObject() } };
        var response = await Fixture.Send(HttpMethod.Put, "/v1/tenants/badzone", ApiFixture.AdminKey, bad);
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("\"field\":\"time_zone\"");
    }
}
