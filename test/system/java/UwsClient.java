import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * A UWS client as Java tools (TOPCAT, STILTS, the Java UWS libraries) are written: plain
 * HttpURLConnection with its default request headers (its default Accept is
 * "text/html, image/gif, image/jpeg, *; q=.2, *\/*; q=.2"), and the JDK's namespace-aware XML
 * parser for every document.
 *
 * Usage: java UwsClient JOB_LIST_URL
 *
 * Creates a job with SECONDS=1, runs it, waits for it with WAIT=-1, reads it, its results and
 * its result's content, and prints one JSON object of what it saw. Any problem exits 1 with
 * the reason on stderr.
 */
public final class UwsClient {
  static final String UWS = "http://www.ivoa.net/xml/UWS/v1.0";
  static final String XLINK = "http://www.w3.org/1999/xlink";

  static final class Answer {
    final int status;
    final String contentType;
    final String location;
    final byte[] body;

    Answer(int status, String contentType, String location, byte[] body) {
      this.status = status;
      this.contentType = contentType;
      this.location = location;
      this.body = body;
    }
  }

  static void check(boolean condition, String message) {
    if (!condition) throw new IllegalStateException(message);
  }

  static byte[] readAll(InputStream in) throws IOException {
    if (in == null) return new byte[0];
    try (InputStream s = in) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      s.transferTo(out);
      return out.toByteArray();
    }
  }

  /** A request with HttpURLConnection's defaults; redirects are read, not followed, to check them. */
  static Answer send(String method, String url, String form) throws IOException {
    HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
    c.setInstanceFollowRedirects(false);
    c.setRequestMethod(method);
    if (form != null) {
      c.setDoOutput(true);
      c.setRequestProperty("Content-Type", "application/x-www-form-urlencoded");
      try (OutputStream out = c.getOutputStream()) {
        out.write(form.getBytes(StandardCharsets.UTF_8));
      }
    }
    int status = c.getResponseCode();
    byte[] body = readAll(status >= 400 ? c.getErrorStream() : c.getInputStream());
    return new Answer(status, c.getContentType(), c.getHeaderField("Location"), body);
  }

  static Document parse(Answer a, String what) throws Exception {
    check(a.status == 200, what + " answered " + a.status);
    check(a.contentType != null && a.contentType.startsWith("application/xml"), what + " came as " + a.contentType + ", not XML");
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    DocumentBuilder b = f.newDocumentBuilder();
    return b.parse(new ByteArrayInputStream(a.body));
  }

  static String text(Element parent, String local) {
    NodeList nodes = parent.getElementsByTagNameNS(UWS, local);
    return nodes.getLength() == 0 ? null : nodes.item(0).getTextContent();
  }

  static String q(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  public static void main(String[] args) throws Exception {
    try {
      run(args[0]);
    } catch (Exception e) {
      System.err.println("JAVA CLIENT FAILED: " + e);
      System.exit(1);
    }
  }

  static void run(String jobs) throws Exception {
    int documents = 0;
    Answer created = send("POST", jobs, "SECONDS=" + URLEncoder.encode("1", StandardCharsets.UTF_8) + "&RUNID=java");
    check(created.status == 303 && created.location != null, "creation answered " + created.status);
    String job = created.location;

    Element pending = parse(send("GET", job, null), "the new job").getDocumentElement();
    documents++;
    check(UWS.equals(pending.getNamespaceURI()) && "job".equals(pending.getLocalName()), "the job document's root is " + pending.getNodeName());
    check("PENDING".equals(text(pending, "phase")), "a new job is " + text(pending, "phase"));
    check("1.1".equals(pending.getAttribute("version")), "the job says version " + pending.getAttribute("version"));

    Answer phaseAtom = send("GET", job + "/phase", null);
    String atom = new String(phaseAtom.body, StandardCharsets.UTF_8).trim();
    check(phaseAtom.contentType.startsWith("text/plain") && atom.equals("PENDING"), "/phase answered " + phaseAtom.contentType + " " + atom);

    Element list = parse(send("GET", jobs, null), "the job list").getDocumentElement();
    documents++;
    check("jobs".equals(list.getLocalName()) && UWS.equals(list.getNamespaceURI()), "the list's root is " + list.getNodeName());

    Answer run = send("POST", job + "/phase", "PHASE=RUN");
    check(run.status == 303, "PHASE=RUN answered " + run.status);

    // Wait as UWS 1.1 clients do: each blocking GET answers when the phase changes.
    List<String> seen = new ArrayList<>();
    String phase = "QUEUED";
    Element current = null;
    for (int i = 0; i < 20 && (phase.equals("QUEUED") || phase.equals("EXECUTING") || phase.equals("PENDING")); i++) {
      current = parse(send("GET", job + "?WAIT=-1", null), "a blocking GET").getDocumentElement();
      documents++;
      phase = text(current, "phase");
      seen.add(phase);
    }
    check("COMPLETED".equals(phase), "the job ended " + phase);
    check("java".equals(text(current, "runId")), "runId reads " + text(current, "runId"));

    Element results = parse(send("GET", job + "/results", null), "the results").getDocumentElement();
    documents++;
    NodeList refs = results.getElementsByTagNameNS(UWS, "result");
    check(refs.getLength() >= 1, "no results listed");
    Element first = (Element) refs.item(0);
    String href = first.getAttributeNS(XLINK, "href");
    check(href.startsWith("http"), "the result link is " + href);
    Answer content = send("GET", href, null);
    check(content.status == 200, "the result answered " + content.status);
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    Document votable = f.newDocumentBuilder().parse(new ByteArrayInputStream(content.body));
    documents++;

    Answer gone = send("DELETE", job, null);
    check(gone.status == 303, "DELETE answered " + gone.status);

    StringBuilder phases = new StringBuilder();
    for (String p : seen) phases.append(phases.length() == 0 ? "" : ",").append(q(p));
    System.out.println("{\"waits\":[" + phases + "]"
        + ",\"result\":" + q(first.getAttribute("id"))
        + ",\"resultRoot\":" + q(votable.getDocumentElement().getLocalName())
        + ",\"resultType\":" + q(content.contentType)
        + ",\"documents\":" + documents + "}");
  }
}
