using System.Collections.Frozen;
using System.Reflection;

namespace Tally.Api.Console;

/// <summary>
/// The web console at <c>/console</c> (decision 037): three static files built into this assembly, so it works with no
/// network beyond the API. The page signs in with a tenant key (or the cluster admin key) kept in the tab's
/// sessionStorage and calls the same HTTP API as any client; these endpoints serve files only and need no key.
/// </summary>
internal static class ConsoleEndpoints
{
    private static readonly FrozenDictionary<string, (byte[] Body, string ContentType)> Files = Load();

    // The page's own files only: no inline script or style, no other origin.
    private const string Policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet("/console", (HttpContext context) => Serve(context, "index.html")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/console/{file}", (HttpContext context, string file) => Serve(context, file)).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(HttpContext context, string file)
    {
        if (!Files.TryGetValue(file, out var f)) return Results.NotFound();
        context.Response.Headers.ContentSecurityPolicy = Policy;
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.Headers.CacheControl = "no-cache";
        return Results.Bytes(f.Body, f.ContentType);
    }

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var files = new Dictionary<string, (byte[], string)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("console/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var file = name["console/".Length..];
            var type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            };
            files[file] = (buffer.ToArray(), type);
        }
        return files.ToFrozenDictionary();
    }
}
