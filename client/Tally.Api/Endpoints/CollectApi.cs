using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Domain;
using Tally.Domain.Config;
using Tally.Domain.Events;

namespace Tally.Api.Endpoints;

/// <summary>
/// <c>POST /v1/collect</c> (API.md, Raw event collection): raw events as a site's tracking script sends them, with an
/// <c>ingest</c> or <c>collect</c> key (a <c>collect</c> key may call nothing else, so it can sit in a web page; a browser's
/// <c>sendBeacon</c> cannot set headers, so the key may come as <c>?key=</c> here and only here). Each event becomes an
/// event of the tenant (<see cref="CollectValidator"/>) and goes the way of <c>POST /v1/events</c>: same durability,
/// dedup by <c>event_id</c>, one result per event. Origins outside the tenant's <c>collect.allowed_origins</c> are refused.
/// </summary>
internal static class CollectApi
{
    public const string Path = "/v1/collect";

    public static IEndpointRouteBuilder MapCollectApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, Collect).WithTags("Events").WithName("Collect")
           .RequireAuthorization(TallyPolicies.Collect)
           .Accepts<JsonElement>("application/json", "text/plain")
           .WithSummary("Collect 1 to 10,000 raw events from a tracking script")
           .WithDescription("Body {\"events\": [...]} or the tracker's envelope {\"eventType\": \"batch\", \"events\": [...]}. Key: Authorization: Bearer (ingest or collect), " +
                            "or ?key= for a collect key. CORS answers the tenant's collect.allowed_origins. The answer is that of POST /v1/events, each result naming its event_id.")
           .ProducesErrors(400, 401, 403, 413, 429, 503);
        // Preflight: a browser asks before sending with an Authorization header or a JSON content type. The key's tenant is
        // not known yet (a preflight carries no credentials), so it is allowed here and the POST checks the origin.
        app.MapMethods(Path, ["OPTIONS"], Preflight).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static IResult Preflight(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.AccessControlAllowMethods = "POST, OPTIONS";
            headers.AccessControlAllowHeaders = "Authorization, Content-Type";
            headers.AccessControlMaxAge = "86400";
            headers.Vary = "Origin";
        }
        return Results.NoContent();
    }

    private static async Task<Results<Ok<CollectResponse>, BadRequest<ErrorBody>, JsonHttpResult<ErrorBody>>> Collect(
        HttpRequest request, TenantScope scope, [AsParameters] EventsApi.Services services, CancellationToken ct)
    {
        var tenant = scope.Tenant;
        var collect = tenant.Config.Collect ?? new CollectConfig();
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            if (!collect.AllowedOrigins.Contains("*") && !collect.AllowedOrigins.Contains(origin))
                return ApiError.Status(403, "origin_not_allowed", $"Origin '{JsonText.Printable(origin)}' is not in the tenant's collect.allowed_origins.");
            request.HttpContext.Response.Headers.AccessControlAllowOrigin = origin;
            request.HttpContext.Response.Headers.Vary = "Origin";
        }
        if (services.Admission.Saturated)
            return EventsApi.Unavailable(request, "overloaded", "This API instance has as many events in flight as the cluster answers in time; nothing was written. Retry after a pause with the same event ids.");
        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        using (doc)
        {
            if (Events(doc.RootElement, services.Options.Value.MaxEventsPerRequest, out var list) is { } shapeError) return shapeError;
            var count = list.GetArrayLength();
            var now = services.Clock.UtcNow;
            var client = new CollectClient(ClientAddress.Kept(ClientAddress.Of(request.HttpContext, services.Options.Value.TrustedProxies), collect.Ip),
                request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null);
            var results = new EventResult[count];
            var valid = new List<ValidEvent>(count);
            var validIndexes = new List<int>(count);
            var userIds = new string?[count];
            var index = 0;
            var tally = new Usage.CollectTally { Received = count };
            var sites = new string?[count];
            foreach (var element in list.EnumerateArray())
            {
                if (Absent(element, "session_id")) tally.MissingSessionId++;
                if (Absent(element, "visitor_id")) tally.MissingVisitorId++;
                if (Absent(element, "url")) tally.MissingUrl++;
                var collected = CollectValidator.Validate(element, index, tenant.Config, tenant.TenantId, now, client, out var error);
                var ok = collected?.Event;
                sites[index] = collected?.SiteId;
                if (ok is null) results[index] = new EventResult(CollectValidator.EventIdOf(element), "rejected", ErrorDetail.From(error!));
                else
                {
                    valid.Add(ok);
                    validIndexes.Add(index);
                    userIds[index] = ok.UserId;
                }
                index++;
            }
            var (accepted, duplicates, rejected, refused) = await EventsApi.IngestAsync(request, tenant, now, results, valid, validIndexes, userIds, services);
            if (refused is not null) return refused;
            for (var i = 0; i < count; i++)
                if (results[i].Status == "accepted" && sites[i] is { } site) tally.AcceptedBySite[site] = tally.AcceptedBySite.GetValueOrDefault(site) + 1;
            services.Usage.RecordCollected(tenant.TenantId, tenant.Calendar.LocalDate(now), tally);
            // An event's idempotency key is its event id.
            return TypedResults.Ok(new CollectResponse(accepted, duplicates, rejected,
                results.Select(r => new CollectResult(r.IdempotencyKey, r.Status, r.Error)).ToArray()));
        }
    }

    private static bool Absent(JsonElement e, string field) =>
        e.ValueKind != JsonValueKind.Object || !JsonText.TryGetProperty(e, field, out var v) || v.ValueKind != JsonValueKind.String || v.GetString() is not { Length: > 0 };

    /// <summary>The events array of <c>{"events": [...]}</c> or <c>{"eventType": "batch", "events": [...]}</c>: 1 to the maximum.</summary>
    private static BadRequest<ErrorBody>? Events(JsonElement root, int maxEvents, out JsonElement list)
    {
        list = default;
        if (root.ValueKind != JsonValueKind.Object || !JsonText.TryGetProperty(root, "events", out list))
            return ApiError.BadRequest("invalid_body", "The body must be {\"events\": [...]} or {\"eventType\": \"batch\", \"events\": [...]}.");
        foreach (var property in root.EnumerateObject())
            if (property.Name is not ("events" or "eventType" or "event_type"))
                return ApiError.BadRequest("unknown_field", $"'{JsonText.Printable(property.Name)}' is not a field of a batch; expected events (and eventType).", JsonText.Printable(property.Name));
        if ((JsonText.TryGetProperty(root, "eventType", out var type) || JsonText.TryGetProperty(root, "event_type", out type))
            && (type.ValueKind != JsonValueKind.String || type.GetString() != "batch"))
            return ApiError.BadRequest("invalid_body", "An envelope's eventType is \"batch\".", "eventType");
        if (list.ValueKind != JsonValueKind.Array)
            return ApiError.BadRequest("invalid_body", "events must be an array.", "events");
        var length = list.GetArrayLength();
        if (length == 0) return ApiError.BadRequest("invalid_body", "events must hold at least one event.", "events");
        if (length > maxEvents)
            return ApiError.BadRequest("too_many_events", $"At most {maxEvents:N0} events per request; this one has {length:N0}.", "events");
        return null;
    }
}
