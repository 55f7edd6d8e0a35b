using Hive.Features.Work;

namespace Hive.Tests.Features.Work;

/// <summary>The workflow file's strict reading: the shipped file parses; every refusal names its line and reason.</summary>
public sealed class WorkflowParserTests
{
    [Fact]
    public void The_shipped_workflow_has_its_five_columns_and_a_blocked_side_state()
    {
        var workflow = WorkflowCatalog.ShippedFiles()["software_development.yaml"] is var yaml ? WorkflowParser.Parse("software_development", yaml) : null!;
        Assert.Equal(["backlog", "design", "implement", "review", "done", "blocked"], workflow.Phases.Select(p => p.Name));
        Assert.True(workflow.SidePhase is { Name: "blocked" });
        Assert.Equal("review", workflow.Find("review")!.ReviewedBy);
        Assert.Equal("design", workflow.NextAfter(workflow.Initial)!.Name);
    }

    [Theory]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b\n  - name: b\n", 4, "does not parse")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [c]\n  - name: b\n    terminal: true\n", 4, "'c', which is not a phase")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b]\n    colour: red\n  - name: b\n    terminal: true\n", 5, "unknown key 'colour'")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b]\n  - name: b\n", 5, "no allowed_transitions")]
    [InlineData("name: other\nphases:\n  - name: b\n    terminal: true\n", 1, "they must agree")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b]\n    expected_outputs:\n      - kind: branch\n  - name: b\n    terminal: true\n", 6, "names no repository")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b]\n    expected_outputs:\n      - kind: file\n        path: ../etc/passwd\n  - name: b\n    terminal: true\n", 7, "plain relative path")]
    [InlineData("name: w\nrepository: ssh://git@example.com/acme/app.git\nphases:\n  - name: b\n    terminal: true\n", 2, "ssh URLs are not taken")]
    [InlineData("name: w\nrepository: https://me:hunter2@example.com/app.git\nphases:\n  - name: b\n    terminal: true\n", 2, "holds a password")]
    [InlineData("name: w\nrepository: relative/path/app.git\nphases:\n  - name: b\n    terminal: true\n", 2, "owner/name (on the forge), an absolute path")]
    [InlineData("name: w\nrepository: /srv/../etc/app.git\nphases:\n  - name: b\n    terminal: true\n", 2, "without . or .. segments")]
    [InlineData("name: w\nrepository:\n  url: /srv/git/app.git\n  credential: deploy\nphases:\n  - name: b\n    terminal: true\n", 3, "a credential is for an http(s) URL")]
    [InlineData("name: w\nrepository:\n  url: acme/app\n  credential: deploy\nphases:\n  - name: b\n    terminal: true\n", 3, "a credential is for a plain repository")]
    [InlineData("name: w\nrepository:\n  url: https://example.com/app.git\n  credential: Not A Name\nphases:\n  - name: b\n    terminal: true\n", 3, "credential names a secret")]
    [InlineData("name: w\nrepository:\n  url: https://example.com/app.git\n  branch: main\nphases:\n  - name: b\n    terminal: true\n", 4, "unknown key 'branch'")]
    [InlineData("name: w\nrepository:\n  credential: deploy\nphases:\n  - name: b\n    terminal: true\n", 3, "url is missing")]
    public void A_bad_file_is_refused_with_its_line(string yaml, long line, string reason)
    {
        var refused = Assert.Throws<WorkflowException>(() => WorkflowParser.Parse("w", yaml));
        Assert.Equal(line, refused.Line);
        Assert.Contains(reason, refused.Reason);
    }

    [Theory]
    [InlineData("repository: acme/app", "acme/app", null)]
    [InlineData("repository: /srv/git/app.git", "/srv/git/app.git", null)]
    [InlineData("repository: file:///srv/git/app.git", "file:///srv/git/app.git", null)]
    [InlineData("repository: https://git.example.com/team/app.git", "https://git.example.com/team/app.git", null)]
    [InlineData("repository:\n  url: https://deploy@git.example.com/team/app.git\n  credential: app-token", "https://deploy@git.example.com/team/app.git", "app-token")]
    public void A_repository_is_on_the_forge_or_plain_with_an_optional_credential(string line, string address, string? credential)
    {
        var workflow = WorkflowParser.Parse("w", $"name: w\n{line}\nphases:\n  - name: a\n    allowed_transitions: [b]\n  - name: b\n    terminal: true\n");
        Assert.Equal(address, workflow.Repository);
        Assert.Equal(credential, workflow.RepositoryCredential);
    }
}
