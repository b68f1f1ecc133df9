/* presets.c - the preset table: one entry per coding agent.

   Packages are nixpkgs attribute names (resolved by `cagefs mount` through
   the user's nixpkgs or store.expr); home paths are made in the cage's home
   at mount (a trailing / makes a folder; a file ending in .json starts as
   {}); the variables are passed through from the caller of `cage exec`;
   the hosts, with the shared package registries, are what the filtered
   network (the default with a preset) allows. */
#include "presets.h"

#include <stdio.h>
#include <string.h>

#include "suggest.h"

#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

const struct preset presets[] = {
  { "claude-code", "Anthropic's Claude Code", LIST ("claude-code"),
    LIST ("~/.claude/", "~/.claude.json", "~/.config/claude/"),
    LIST ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL",
          "ANTHROPIC_MODEL", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"),
    LIST ("api.anthropic.com", "console.anthropic.com", "claude.ai", "statsig.anthropic.com") },
  { "codex", "OpenAI's Codex CLI", LIST ("codex"), LIST ("~/.codex/"),
    LIST ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID"),
    LIST ("api.openai.com", "auth.openai.com", "chatgpt.com") },
  { "opencode", "opencode (sst)", LIST ("opencode"),
    LIST ("~/.config/opencode/", "~/.local/share/opencode/", "~/.local/state/opencode/"),
    LIST ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY",
          "GROQ_API_KEY"),
    LIST ("api.anthropic.com", "api.openai.com", "generativelanguage.googleapis.com",
          "openrouter.ai", "api.groq.com", "opencode.ai", "models.dev") },
  { "gemini-cli", "Google's Gemini CLI", LIST ("gemini-cli"), LIST ("~/.gemini/"),
    LIST ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT",
          "GOOGLE_GENAI_USE_VERTEXAI"),
    LIST ("generativelanguage.googleapis.com", "oauth2.googleapis.com", "accounts.google.com",
          "cloudcode-pa.googleapis.com") },
  { "aider", "aider (aider-chat)", LIST ("aider-chat"),
    LIST ("~/.aider/", "~/.aider.conf.yml", "~/.aider.model.settings.yml"),
    LIST ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "DEEPSEEK_API_KEY",
          "OPENROUTER_API_KEY", "AIDER_MODEL"),
    LIST ("api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com",
          "api.deepseek.com", "openrouter.ai") },
  { "goose", "Block's goose", LIST ("goose-cli"),
    LIST ("~/.config/goose/", "~/.local/share/goose/", "~/.local/state/goose/"),
    LIST ("GOOSE_PROVIDER", "GOOSE_MODEL", "ANTHROPIC_API_KEY", "OPENAI_API_KEY",
          "GOOGLE_API_KEY"),
    LIST ("api.anthropic.com", "api.openai.com", "generativelanguage.googleapis.com") },
  { "crush", "Charm's crush", LIST ("crush"),
    LIST ("~/.config/crush/", "~/.local/share/crush/"),
    LIST ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY",
          "GROQ_API_KEY"),
    LIST ("api.anthropic.com", "api.openai.com", "generativelanguage.googleapis.com",
          "openrouter.ai", "api.groq.com") },
  { NULL, NULL, NULL, NULL, NULL, NULL },
};

const char *const preset_registries[] = {
  "registry.npmjs.org", "pypi.org", "files.pythonhosted.org", "crates.io", "static.crates.io",
  "index.crates.io", "github.com", "codeload.github.com", "objects.githubusercontent.com",
  "cache.nixos.org", NULL,
};

#define N_PRESETS (sizeof presets / sizeof *presets - 1)

const struct preset *
preset_find (const char *name, struct cage_error *err)
{
  const char *names[N_PRESETS + 1];
  char list[256] = "";
  size_t o = 0;
  for (size_t i = 0; i < N_PRESETS; i++)
    {
      if (name && strcmp (presets[i].name, name) == 0)
        return &presets[i];
      names[i] = presets[i].name;
      int w = snprintf (list + o, sizeof list - o, "%s%s", i ? ", " : "", presets[i].name);
      if (w > 0 && (size_t) w < sizeof list - o)
        o += (size_t) w;
    }
  names[N_PRESETS] = NULL;
  const char *near = suggest_closest (name ? name : "", names);
  if (near)
    cage_error_set (err, 0, "unknown preset \"%s\"; did you mean \"%s\"? valid presets: %s",
                    name ? name : "", near, list);
  else
    cage_error_set (err, 0, "unknown preset \"%s\"; valid presets: %s", name ? name : "", list);
  return NULL;
}

int
preset_apply (const struct preset *p, struct cage_config *cfg, struct cage_error *err)
{
  for (const char *const *s = p->packages; *s; s++)
    if (config_add_with (cfg, *s, err) < 0)
      return -1;
  for (const char *const *s = p->home; *s; s++)
    if (config_add_home_writable (cfg, *s, err) < 0)
      return -1;
  for (const char *const *s = p->env; *s; s++)
    if (config_add_env_pass (cfg, *s, err) < 0)
      return -1;
  char origin[64], registries[96];
  snprintf (origin, sizeof origin, "preset %s", p->name);
  snprintf (registries, sizeof registries, "registries (preset %s)", p->name);
  for (const char *const *s = p->hosts; *s; s++)
    if (net_policy_add (&cfg->allow, *s, origin, err) < 0)
      return -1;
  for (const char *const *s = preset_registries; *s; s++)
    if (net_policy_add (&cfg->allow, *s, registries, err) < 0)
      return -1;
  return 0;
}
