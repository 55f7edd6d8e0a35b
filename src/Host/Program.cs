using Hive.Host;

var app = HiveHost.Build(args);
await app.RunAsync();

/// <summary>Visible to tests (<c>WebApplicationFactory&lt;Program&gt;</c>).</summary>
public partial class Program;
