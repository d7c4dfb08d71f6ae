using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Contracts;
using Tally.Domain;
using Tally.Domain.Webhooks;
using Tally.Postgres.Changes;
using Tally.Postgres.Tenants;
using Tally.Postgres.Webhooks;

namespace Tally.Api.Endpoints;

/// <summary>Webhooks of a tenant (API.md, Changes and webhooks): register with a secret shown once, list, delete, enable
/// again after they were disabled, and the recent delivery attempts. The silos deliver (<c>WebhookGrain</c>).</summary>
internal static class WebhooksApi
{
    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/tenants/{tenant_id}/webhooks").WithTags("Webhooks")
            .RequireAuthorization(TallyPolicies.AdministersRouteTenant).ProducesErrors(400, 401, 403, 404, 503);
        group.MapPost("", Create).WithName("CreateWebhook").Accepts<CreateWebhookRequest>("application/json")
             .WithSummary("Register a webhook; the secret is shown once")
             .WithDescription("url: http or https (private, loopback and link-local hosts are refused unless the operator allows them); kinds: " +
                              "tier_changed, goal_completed, user_removed (default all). It receives the changes recorded after its creation.");
        group.MapGet("", List).WithName("ListWebhooks").WithSummary("The tenant's webhooks, without secrets");
        group.MapDelete("/{webhook_id}", Delete).WithName("DeleteWebhook").WithSummary("Delete a webhook; its deliveries stop");
        group.MapPost("/{webhook_id}/enable", Enable).WithName("EnableWebhook")
             .WithSummary("Resume a disabled webhook from its first unacknowledged change");
        group.MapGet("/{webhook_id}/deliveries", Deliveries).WithName("ListWebhookDeliveries")
             .WithSummary("A webhook's recent delivery attempts, newest first").WithDescription("limit 1-1000 (default 50).");
        return app;
    }

    internal sealed record Services(WebhookStore Store, TenantConfigCache Tenants, IClusterClient Cluster, IOptions<WebhookOptions> Options,
        ILogger<WebhookStore> Logger);

    private static async Task<Results<Created<CreatedWebhook>, BadRequest<ErrorBody>, NotFound<ErrorBody>, JsonHttpResult<ErrorBody>>> Create(
        string tenant_id, HttpRequest request, [AsParameters] Services services, CancellationToken ct)
    {
        var tenant = await services.Tenants.GetAsync(tenant_id, 0, ct);
        if (tenant is null) return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
        if (tenant.IsRemoving) return ApiError.Status(StatusCodes.Status409Conflict, "tenant_removing", $"Tenant '{tenant_id}' is being removed.");
        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        string? urlText = null;
        string[] kinds = ChangeData.Kinds;
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return ApiError.BadRequest("invalid_body", "The body must be {\"url\": ..., \"kinds\": [...]}.");
            foreach (var property in root.EnumerateObject())
            {
                if (!JsonText.TryGetName(property, out var name) || name is not ("url" or "kinds"))
                    return ApiError.BadRequest("unknown_field", $"'{JsonText.Printable(name)}' is not a field here; expected: url, kinds.", JsonText.Printable(name));
                if (name == "url")
                {
                    if (property.Value.ValueKind != JsonValueKind.String || !JsonText.TryGetString(property.Value, out var text))
                        return ApiError.BadRequest("invalid_url", "url must be a string.", "url");
                    urlText = text;
                }
                else
                {
                    if (property.Value.ValueKind != JsonValueKind.Array || property.Value.GetArrayLength() == 0)
                        return ApiError.BadRequest("invalid_kinds", "kinds must be a non-empty array of tier_changed, goal_completed, user_removed.", "kinds");
                    var list = new List<string>();
                    var i = 0;
                    foreach (var item in property.Value.EnumerateArray())
                    {
                        if (item.ValueKind != JsonValueKind.String || !JsonText.TryGetString(item, out var kind) || Array.IndexOf(ChangeData.Kinds, kind) < 0)
                            return ApiError.BadRequest("invalid_kinds", "Each kind is one of tier_changed, goal_completed, user_removed.", $"kinds[{i}]");
                        if (!list.Contains(kind)) list.Add(kind);
                        i++;
                    }
                    kinds = list.ToArray();
                }
            }
        }
        if (urlText is null) return ApiError.BadRequest("missing_field", "url is required: where the changes are POSTed.", "url");
        var (url, urlError) = WebhookTarget.ParseUrl(urlText);
        if (url is null) return ApiError.BadRequest("invalid_url", urlError!, "url");
        if (!services.Options.Value.AllowPrivateTargets && await PrivateTargetAsync(url, ct) is { } refusal)
            return ApiError.BadRequest("private_target", refusal, "url");

        var webhookId = "wh_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = WebhookSignature.NewSecret();
        var hook = await services.Store.CreateAsync(tenant_id, webhookId, url.ToString(), kinds, secret, ct);
        await StartAsync(services, tenant_id, webhookId);
        return TypedResults.Created($"/v1/tenants/{tenant_id}/webhooks/{webhookId}",
            new CreatedWebhook(hook.WebhookId, hook.Url, hook.Kinds, hook.State, secret, TimeZoneInfo.ConvertTime(hook.CreatedAt, tenant.Calendar.Zone)));
    }

    private static async Task<Results<Ok<WebhookList>, NotFound<ErrorBody>>> List(string tenant_id, [AsParameters] Services services, CancellationToken ct)
    {
        var tenant = await services.Tenants.GetAsync(tenant_id, 0, ct);
        if (tenant is null) return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
        var hooks = await services.Store.ListAsync(tenant_id, ct);
        return TypedResults.Ok(new WebhookList(hooks.Select(h => Info(h, tenant.Calendar.Zone)).ToArray()));
    }

    private static async Task<Results<NoContent, NotFound<ErrorBody>>> Delete(string tenant_id, string webhook_id, [AsParameters] Services services, CancellationToken ct)
    {
        if (!await services.Store.DeleteAsync(tenant_id, webhook_id, ct))
            return ApiError.NotFound("webhook_not_found", $"Tenant '{tenant_id}' has no webhook '{JsonText.Printable(webhook_id)}'.");
        try
        {
            await services.Cluster.Grain<IWebhookGrain>(WebhookKey.Format(tenant_id, webhook_id)).Stop();
        }
        catch (Exception ex) when (ErrorMapping.UnavailableDependency(ex) is not null)
        {
            // Deleted in PostgreSQL: its deliverer finds it gone at its next reminder and stops.
            services.Logger.LogWarning("Webhook {Tenant}/{Webhook} deleted; its deliverer could not be told ({Error}).", tenant_id, webhook_id, ex.Message);
        }
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<WebhookInfo>, NotFound<ErrorBody>>> Enable(string tenant_id, string webhook_id, [AsParameters] Services services, CancellationToken ct)
    {
        var tenant = await services.Tenants.GetAsync(tenant_id, 0, ct);
        var hook = tenant is null ? null : await services.Store.EnableAsync(tenant_id, webhook_id, ct);
        if (hook is null) return ApiError.NotFound("webhook_not_found", $"Tenant '{tenant_id}' has no webhook '{JsonText.Printable(webhook_id)}'.");
        await StartAsync(services, tenant_id, webhook_id);
        return TypedResults.Ok(Info(hook, tenant!.Calendar.Zone));
    }

    internal sealed record DeliveriesQuery([FromQuery(Name = "limit")] int? Limit);

    private static async Task<Results<Ok<DeliveryList>, BadRequest<ErrorBody>, NotFound<ErrorBody>>> Deliveries(
        string tenant_id, string webhook_id, [AsParameters] DeliveriesQuery query, [AsParameters] Services services, CancellationToken ct)
    {
        var (limit, limitError) = BoardParameters.Range(query.Limit, "limit", 50, 1, 1000);
        if (limitError is not null) return limitError;
        var tenant = await services.Tenants.GetAsync(tenant_id, 0, ct);
        if (tenant is null || await services.Store.GetAsync(tenant_id, webhook_id, ct) is null)
            return ApiError.NotFound("webhook_not_found", $"Tenant '{tenant_id}' has no webhook '{JsonText.Printable(webhook_id)}'.");
        var deliveries = await services.Store.ReadDeliveriesAsync(tenant_id, webhook_id, limit, ct);
        return TypedResults.Ok(new DeliveryList(deliveries.Select(d => new DeliveryInfo(ChangeCursor.Format(d.ChangeSeq), d.Attempt,
            TimeZoneInfo.ConvertTime(d.At, tenant.Calendar.Zone), d.Status, d.DurationMs, d.Error)).ToArray()));
    }

    /// <summary>Tells the webhook's deliverer to (re)read it. If the cluster cannot be reached now, the maintenance runner
    /// starts every active webhook's deliverer within a few minutes.</summary>
    private static async Task StartAsync(Services services, string tenantId, string webhookId)
    {
        try
        {
            await services.Cluster.Grain<IWebhookGrain>(WebhookKey.Format(tenantId, webhookId)).Start();
        }
        catch (Exception ex) when (ErrorMapping.UnavailableDependency(ex) is not null)
        {
            services.Logger.LogWarning("Webhook {Tenant}/{Webhook} stored; its deliverer could not be started now ({Error}).", tenantId, webhookId, ex.Message);
        }
    }

    /// <summary>The reason a URL's host is not a webhook target (it resolves to a private, loopback or link-local address,
    /// or to nothing), or null.</summary>
    private static async Task<string?> PrivateTargetAsync(Uri url, CancellationToken ct)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(url.IdnHost.Trim('[', ']'), out var literal)) addresses = [literal];
        else
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                addresses = await Dns.GetHostAddressesAsync(url.IdnHost, timeout.Token);
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or OperationCanceledException)
            {
                return $"url's host '{url.Host}' does not resolve.";
            }
        }
        return addresses.Length == 0 || addresses.Any(WebhookTarget.IsPrivate)
            ? $"url's host '{url.Host}' is a loopback, private or link-local address; webhooks may not reach it (the operator's Tally:Webhooks:AllowPrivateTargets)."
            : null;
    }

    private static WebhookInfo Info(StoredWebhook h, TimeZoneInfo zone) => new(h.WebhookId, h.Url, h.Kinds, h.State,
        TimeZoneInfo.ConvertTime(h.CreatedAt, zone), h.DisabledAt is { } d ? TimeZoneInfo.ConvertTime(d, zone) : null);
}
