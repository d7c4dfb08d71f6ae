using System.Text.Json.Nodes;
using Tally.Cli.Bench;

namespace Tally.Cli.Loading;

/// <summary>A tenant's administration through the API with the cluster admin key: config and keys.</summary>
internal sealed class TenantAdmin(HttpClient http, string adminKey)
{
    /// <summary>Creates the tenant or replaces its config.</summary>
    public Task PutConfigAsync(string tenant, JsonObject config) =>
        Api.SendAsync(http, HttpMethod.Put, $"/v1/tenants/{tenant}", adminKey, config.ToJsonString());

    /// <summary>The tenant's stored config; a tenant that does not exist is an error that says so.</summary>
    public async Task<JsonObject> GetConfigAsync(string tenant)
    {
        try
        {
            return JsonNode.Parse(await Api.SendAsync(http, HttpMethod.Get, $"/v1/tenants/{tenant}", adminKey, null))!["config"]!.AsObject();
        }
        catch (CliException ex) when (ex.Message.Contains(" 404 ", StringComparison.Ordinal))
        {
            throw new CliException($"tenant '{tenant}' does not exist (create it with PUT /v1/tenants/{tenant} or tally demo).");
        }
    }

    /// <summary>A new key of the role; the secret is only in this answer.</summary>
    public async Task<(string KeyId, string Key)> MintKeyAsync(string tenant, string role)
    {
        var answer = JsonNode.Parse(await Api.SendAsync(http, HttpMethod.Post, $"/v1/tenants/{tenant}/keys", adminKey, $$"""{"role":"{{role}}"}"""))!;
        return ((string)answer["key_id"]!, (string)answer["key"]!);
    }

    public Task RevokeKeyAsync(string tenant, string keyId) =>
        Api.SendAsync(http, HttpMethod.Delete, $"/v1/tenants/{tenant}/keys/{keyId}", adminKey, null);
}
