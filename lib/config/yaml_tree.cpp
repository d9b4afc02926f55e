#include "config/yaml_tree.hpp"

#include <map>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

namespace crawl::config::yaml {

std::string_view kind_name(Node::Kind kind) {
  switch (kind) {
    case Node::Kind::null:
      return "nothing";
    case Node::Kind::scalar:
      return "a value";
    case Node::Kind::sequence:
      return "a list";
    case Node::Kind::map:
      return "a mapping";
  }
  return "?";
}

namespace {

// Turns the event stream into nodes. Containers under construction sit on a stack; a map
// alternates between expecting a key and expecting that key's value.
class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(std::deque<Node>& nodes) : m_nodes(nodes) {}

  const Node* root() const { return m_root; }
  const std::string& error() const { return m_error; }
  YAML::Mark error_mark() const { return m_error_mark; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    attach(make(Node::Kind::null, mark), anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = m_anchors.find(anchor);
    if (it == m_anchors.end()) {
      set_error(mark, "unknown alias");
      return;
    }
    attach(it->second, 0);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Node* node = make(Node::Kind::scalar, mark);
    node->value = value;
    node->quoted = tag != "?";  // "?" marks a plain scalar; anything else is a string
    attach(node, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(make(Node::Kind::sequence, mark), anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(make(Node::Kind::map, mark), anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    Node* node;
    const Node* pending_key = nullptr;
  };

  Node* make(Node::Kind kind, const YAML::Mark& mark) {
    Node& node = m_nodes.emplace_back();
    node.kind = kind;
    node.line = mark.line + 1;
    node.column = mark.column + 1;
    return &node;
  }

  void attach(const Node* node, YAML::anchor_t anchor) {
    if (anchor != 0) m_anchors[anchor] = node;
    if (m_stack.empty()) {
      if (m_root == nullptr) m_root = node;
      return;
    }
    Open& top = m_stack.back();
    if (top.node->kind == Node::Kind::sequence) {
      top.node->items.push_back(node);
    } else if (top.pending_key == nullptr) {
      top.pending_key = node;
    } else {
      top.node->entries.emplace_back(top.pending_key, node);
      top.pending_key = nullptr;
    }
  }

  void open(Node* node, YAML::anchor_t anchor) {
    attach(node, anchor);
    m_stack.push_back({node});
  }

  void close() {
    if (!m_stack.empty()) m_stack.pop_back();
  }

  void set_error(const YAML::Mark& mark, std::string message) {
    if (!m_error.empty()) return;
    m_error = std::move(message);
    m_error_mark = mark;
  }

  std::deque<Node>& m_nodes;
  std::vector<Open> m_stack;
  std::map<YAML::anchor_t, const Node*> m_anchors;
  const Node* m_root = nullptr;
  std::string m_error;
  YAML::Mark m_error_mark;
};

}  // namespace

Result<Document> parse(std::string_view text, std::string_view file_name) {
  Document document;
  std::istringstream in{std::string(text)};
  try {
    YAML::Parser parser(in);
    TreeBuilder builder(document.m_nodes);
    parser.HandleNextDocument(builder);
    if (!builder.error().empty()) {
      return fail("{}:{}:{}: {}", file_name, builder.error_mark().line + 1,
                  builder.error_mark().column + 1, builder.error());
    }
    document.m_root = builder.root();
    TreeBuilder rest(document.m_nodes);
    if (parser.HandleNextDocument(rest)) {
      const Node* second = rest.root();
      return fail("{}:{}: only one YAML document is expected", file_name,
                  second != nullptr ? second->line : 0);
    }
  } catch (const YAML::Exception& e) {
    return fail("{}:{}:{}: {}", file_name, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (document.m_root == nullptr) {
    Node& empty = document.m_nodes.emplace_back();
    empty.line = 1;
    empty.column = 1;
    document.m_root = &empty;
  }
  return document;
}

}  // namespace crawl::config::yaml
