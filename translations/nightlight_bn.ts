<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="bn">
<context>
    <name>DashboardOptions</name>
    <message>
        <source>Shows a nightlight&apos;s light readings and switches its LED over MQTT.</source>
        <translation>MQTT-এর মাধ্যমে নাইটলাইটের আলোর মাপ দেখায় এবং এর LED চালু-বন্ধ করে।</translation>
    </message>
    <message>
        <source>MQTT broker host name.</source>
        <translation>MQTT ব্রোকারের হোস্ট নাম।</translation>
    </message>
    <message>
        <source>host</source>
        <translation>হোস্ট</translation>
    </message>
    <message>
        <source>MQTT broker port (1-65535).</source>
        <translation>MQTT ব্রোকারের পোর্ট (১-৬৫৫৩৫)।</translation>
    </message>
    <message>
        <source>port</source>
        <translation>পোর্ট</translation>
    </message>
    <message>
        <source>Device id to show at start.</source>
        <translation>শুরুতে যে ডিভাইসটি দেখাবে তার আইডি।</translation>
    </message>
    <message>
        <source>id</source>
        <translation>আইডি</translation>
    </message>
    <message>
        <source>Language, e.g. en or bn (default: the system&apos;s).</source>
        <translation>ভাষা, যেমন en বা bn (ডিফল্ট: সিস্টেমের ভাষা)।</translation>
    </message>
    <message>
        <source>language</source>
        <translation>ভাষা</translation>
    </message>
    <message>
        <source>SQLite file for the telemetry history.</source>
        <translation>টেলিমেট্রি ইতিহাসের SQLite ফাইল।</translation>
    </message>
    <message>
        <source>path</source>
        <translation>পথ</translation>
    </message>
    <message>
        <source>Use TLS, trusting the CA certificates in this file.</source>
        <translation>TLS ব্যবহার করুন, এই ফাইলের CA সার্টিফিকেটগুলোকে বিশ্বাস করে।</translation>
    </message>
    <message>
        <source>file</source>
        <translation>ফাইল</translation>
    </message>
    <message>
        <source>User name for the broker.</source>
        <translation>ব্রোকারের জন্য ব্যবহারকারীর নাম।</translation>
    </message>
    <message>
        <source>name</source>
        <translation>নাম</translation>
    </message>
    <message>
        <source>Unexpected argument: %1</source>
        <translation>অপ্রত্যাশিত আর্গুমেন্ট: %1</translation>
    </message>
    <message>
        <source>--host must not be empty</source>
        <translation>--host খালি রাখা যাবে না</translation>
    </message>
    <message>
        <source>--port must be a number from 1 to 65535, not &quot;%1&quot;</source>
        <translation>--port ১ থেকে ৬৫৫৩৫-এর মধ্যে একটি সংখ্যা হতে হবে, &quot;%1&quot; নয়</translation>
    </message>
    <message>
        <source>--id: %1</source>
        <translation>--id: %1</translation>
    </message>
    <message>
        <source>--lang: unknown language &quot;%1&quot; (try en or bn)</source>
        <translation>--lang: অজানা ভাষা &quot;%1&quot; (en বা bn চেষ্টা করুন)</translation>
    </message>
    <message>
        <source>--database: the folder of &quot;%1&quot; does not exist</source>
        <translation>--database: &quot;%1&quot;-এর ফোল্ডারটি নেই</translation>
    </message>
    <message>
        <source>--tls-ca: cannot read &quot;%1&quot;</source>
        <translation>--tls-ca: &quot;%1&quot; পড়া যাচ্ছে না</translation>
    </message>
    <message>
        <source>--palette must be light or dark</source>
        <translation>--palette অবশ্যই light অথবা dark হতে হবে</translation>
    </message>
    <message>
        <source>Most devices to track; messages from further new ones are ignored (default %1).</source>
        <translation>সর্বোচ্চ কতগুলি ডিভাইস ট্র্যাক করা হবে; এর বেশি নতুন ডিভাইসের বার্তা উপেক্ষা করা হয় (ডিফল্ট %1)।</translation>
    </message>
    <message>
        <source>count</source>
        <translation>সংখ্যা</translation>
    </message>
    <message>
        <source>--max-devices must be a number from 1 to %1, not &quot;%2&quot;</source>
        <translation>--max-devices ১ থেকে %1-এর মধ্যে একটি সংখ্যা হতে হবে, &quot;%2&quot; নয়</translation>
    </message>
    <message>
        <source>View to show at start: detail or class.</source>
        <translation>শুরুতে যে দৃশ্য দেখাবে: detail অথবা class।</translation>
    </message>
    <message>
        <source>view</source>
        <translation>দৃশ্য</translation>
    </message>
    <message>
        <source>--view must be detail or class, not &quot;%1&quot;</source>
        <translation>--view অবশ্যই detail অথবা class হতে হবে, &quot;%1&quot; নয়</translation>
    </message>
    <message>
        <source>--bench-report: the folder of &quot;%1&quot; does not exist</source>
        <translation>--bench-report: &quot;%1&quot;-এর ফোল্ডারটি নেই</translation>
    </message>
</context>
<context>
    <name>nightlight::ClassView</name>
    <message>
        <source>online</source>
        <translation>অনলাইন</translation>
    </message>
    <message>
        <source>offline</source>
        <translation>অফলাইন</translation>
    </message>
    <message>
        <source>stale</source>
        <translation>পুরনো তথ্য</translation>
    </message>
    <message>
        <source>lesson device</source>
        <translation>পাঠের ডিভাইস</translation>
    </message>
    <message>
        <source>shared id</source>
        <translation>আইডি ভাগাভাগি</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>অজানা</translation>
    </message>
    <message>
        <source>LED on</source>
        <translation>LED চালু</translation>
    </message>
    <message>
        <source>LED off</source>
        <translation>LED বন্ধ</translation>
    </message>
    <message>
        <source>auto</source>
        <translation>স্বয়ংক্রিয়</translation>
    </message>
    <message>
        <source>manual</source>
        <translation>হাতে নিয়ন্ত্রিত</translation>
    </message>
    <message>
        <source>No data</source>
        <translation>কোনো তথ্য নেই</translation>
    </message>
    <message>
        <source>Sent “%1”…</source>
        <translation>“%1” পাঠানো হয়েছে…</translation>
    </message>
    <message>
        <source>Not connected to the broker</source>
        <translation>ব্রোকারের সাথে সংযুক্ত নয়</translation>
    </message>
    <message>
        <source>Show in &amp;Detail View</source>
        <translation>বিস্তারিত দৃশ্যে দেখান (&amp;D)</translation>
    </message>
    <message>
        <source>&amp;Forget Device…</source>
        <translation>ডিভাইস ভুলে যান (&amp;F)…</translation>
    </message>
    <message>
        <source>“%1” confirmed</source>
        <translation>“%1” নিশ্চিত হয়েছে</translation>
    </message>
    <message>
        <source>“%1” not confirmed</source>
        <translation>“%1” নিশ্চিত হয়নি</translation>
    </message>
    <message>
        <source>Sent “%1” (no confirmation)</source>
        <translation>“%1” পাঠানো হয়েছে (নিশ্চিতকরণ নেই)</translation>
    </message>
    <message>
        <source>LED unknown</source>
        <translation>LED অজানা</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>No device matches the filter</source>
        <translation>ফিল্টারের সাথে কোনো ডিভাইস মেলে না</translation>
    </message>
    <message>
        <source>No devices yet</source>
        <translation>এখনও কোনো ডিভাইস নেই</translation>
    </message>
</context>
<context>
    <name>nightlight::ConnectionDialog</name>
    <message>
        <source>Connection Settings</source>
        <translation>সংযোগের সেটিংস</translation>
    </message>
    <message>
        <source>none (plain TCP)</source>
        <translation>নেই (সাধারণ TCP)</translation>
    </message>
    <message>
        <source>anonymous</source>
        <translation>বেনামী</translation>
    </message>
    <message>
        <source> days</source>
        <translation> দিন</translation>
    </message>
    <message>
        <source>forever</source>
        <translation>চিরকাল</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>খুঁজুন…</translation>
    </message>
    <message>
        <source>The password is kept in the system keyring.</source>
        <translation>পাসওয়ার্ডটি সিস্টেমের কীরিং-এ রাখা হয়।</translation>
    </message>
    <message>
        <source>No keyring is available (%1): the password is used for this session and not stored.</source>
        <translation>কোনো কীরিং পাওয়া যায়নি (%1): পাসওয়ার্ডটি শুধু এই সেশনে ব্যবহার হবে, সংরক্ষণ করা হবে না।</translation>
    </message>
    <message>
        <source>&amp;Host:</source>
        <translation>হোস্ট (&amp;H):</translation>
    </message>
    <message>
        <source>&amp;Port:</source>
        <translation>পোর্ট (&amp;P):</translation>
    </message>
    <message>
        <source>TLS &amp;CA file:</source>
        <translation>TLS CA ফাইল (&amp;C):</translation>
    </message>
    <message>
        <source>&amp;User name:</source>
        <translation>ব্যবহারকারীর নাম (&amp;U):</translation>
    </message>
    <message>
        <source>Pass&amp;word:</source>
        <translation>পাসওয়ার্ড (&amp;W):</translation>
    </message>
    <message>
        <source>&amp;Keep history:</source>
        <translation>ইতিহাস রাখুন (&amp;K):</translation>
    </message>
    <message>
        <source>TLS CA Certificates</source>
        <translation>TLS CA সার্টিফিকেট</translation>
    </message>
    <message>
        <source>Certificates (*.crt *.pem);;All files (*)</source>
        <translation>সার্টিফিকেট (*.crt *.pem);;সব ফাইল (*)</translation>
    </message>
    <message>
        <source>Enter the broker&apos;s host name.</source>
        <translation>ব্রোকারের হোস্ট নাম লিখুন।</translation>
    </message>
    <message>
        <source>Cannot read the CA file.</source>
        <translation>CA ফাইলটি পড়া যাচ্ছে না।</translation>
    </message>
</context>
<context>
    <name>nightlight::DeviceListModel</name>
    <message>
        <source>unknown</source>
        <translation>অজানা</translation>
    </message>
    <message>
        <source>online</source>
        <translation>অনলাইন</translation>
    </message>
    <message>
        <source>offline</source>
        <translation>অফলাইন</translation>
    </message>
    <message>
        <source>stale</source>
        <translation>পুরনো তথ্য</translation>
    </message>
    <message>
        <source>no status (lesson device)</source>
        <translation>কোনো স্ট্যাটাস নেই (পাঠের ডিভাইস)</translation>
    </message>
    <message>
        <source>%1 — %2</source>
        <translation>%1 — %2</translation>
    </message>
    <message>
        <source>Last light: %1</source>
        <translation>শেষ আলোর মাপ: %1</translation>
    </message>
    <message>
        <source>Telemetry every %1 s</source>
        <translation>প্রতি %1 সেকেন্ডে টেলিমেট্রি</translation>
    </message>
    <message>
        <source>two devices share this id</source>
        <translation>দুটি ডিভাইস এই আইডি ব্যবহার করছে</translation>
    </message>
    <message>
        <source>Two devices use this id: their readings are mixed and the broker keeps disconnecting one for the other. Give each device its own id.</source>
        <translation>দুটি ডিভাইস এই আইডি ব্যবহার করছে: তাদের রিডিং মিশে যাচ্ছে এবং ব্রোকার একটির জন্য অন্যটিকে বারবার বিচ্ছিন্ন করছে। প্রতিটি ডিভাইসকে আলাদা আইডি দিন।</translation>
    </message>
    <message>
        <source>%1 online</source>
        <translation>%1 অনলাইন</translation>
    </message>
    <message>
        <source>%1 offline</source>
        <translation>%1 অফলাইন</translation>
    </message>
    <message>
        <source>%1 stale</source>
        <translation>%1 পুরনো তথ্য</translation>
    </message>
    <message>
        <source>%1 lesson device</source>
        <translation>%1টি পাঠের ডিভাইস</translation>
    </message>
    <message>
        <source>%1 lesson devices</source>
        <translation>%1টি পাঠের ডিভাইস</translation>
    </message>
    <message>
        <source>%1 shared id</source>
        <translation>%1টি আইডি ভাগাভাগি</translation>
    </message>
    <message>
        <source>%1 shared ids</source>
        <translation>%1টি আইডি ভাগাভাগি</translation>
    </message>
    <message>
        <source>%1 unknown</source>
        <translation>%1 অজানা</translation>
    </message>
</context>
<context>
    <name>nightlight::DeviceSortProxy</name>
    <message>
        <source>Id</source>
        <translation>আইডি</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>অবস্থা</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>আলো</translation>
    </message>
</context>
<context>
    <name>nightlight::LedControl</name>
    <message>
        <source>On</source>
        <translation>চালু</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>বন্ধ</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>স্বয়ংক্রিয়</translation>
    </message>
    <message>
        <source>Could not send the command: %1</source>
        <translation>নির্দেশটি পাঠানো যায়নি: %1</translation>
    </message>
    <message>
        <source>Device did not confirm within %1 s</source>
        <translation>ডিভাইস %1 সেকেন্ডের মধ্যে নিশ্চিত করেনি</translation>
    </message>
    <message>
        <source>LED state unknown</source>
        <translation>LED-এর অবস্থা অজানা</translation>
    </message>
    <message>
        <source>LED on</source>
        <translation>LED চালু</translation>
    </message>
    <message>
        <source>LED off</source>
        <translation>LED বন্ধ</translation>
    </message>
    <message>
        <source>auto</source>
        <translation>স্বয়ংক্রিয়</translation>
    </message>
    <message>
        <source>manual</source>
        <translation>হাতে নিয়ন্ত্রিত</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>No device selected</source>
        <translation>কোনো ডিভাইস বাছাই করা হয়নি</translation>
    </message>
    <message>
        <source>Sent “%1”, waiting for the device to confirm…</source>
        <translation>“%1” পাঠানো হয়েছে, ডিভাইসের নিশ্চিতকরণের অপেক্ষায়…</translation>
    </message>
    <message>
        <source>“%1” confirmed by the device</source>
        <translation>ডিভাইস “%1” নিশ্চিত করেছে</translation>
    </message>
    <message>
        <source>Sent “%1”. This device does not confirm commands (lesson device)</source>
        <translation>“%1” পাঠানো হয়েছে। এই ডিভাইস নির্দেশ নিশ্চিত করে না (পাঠের ডিভাইস)</translation>
    </message>
    <message>
        <source>This device does not confirm commands (lesson device)</source>
        <translation>এই ডিভাইস নির্দেশ নিশ্চিত করে না (পাঠের ডিভাইস)</translation>
    </message>
    <message>
        <source>Waiting for the device&apos;s state…</source>
        <translation>ডিভাইসের অবস্থার অপেক্ষায়…</translation>
    </message>
    <message>
        <source>Not connected to the broker</source>
        <translation>ব্রোকারের সাথে সংযুক্ত নয়</translation>
    </message>
</context>
<context>
    <name>nightlight::LedControlWidget</name>
    <message>
        <source>LED</source>
        <translation>LED</translation>
    </message>
    <message>
        <source>O&amp;n</source>
        <translation>চালু (&amp;N)</translation>
    </message>
    <message>
        <source>O&amp;ff</source>
        <translation>বন্ধ (&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Auto</source>
        <translation>স্বয়ংক্রিয় (&amp;A)</translation>
    </message>
    <message>
        <source>Switch the LED on and keep it on</source>
        <translation>LED চালু করুন এবং চালু রাখুন</translation>
    </message>
    <message>
        <source>Switch the LED off and keep it off</source>
        <translation>LED বন্ধ করুন এবং বন্ধ রাখুন</translation>
    </message>
    <message>
        <source>Let the device switch the LED by its light threshold</source>
        <translation>ডিভাইস নিজেই আলোর সীমা দেখে LED চালু-বন্ধ করুক</translation>
    </message>
    <message>
        <source>This device does not confirm commands (lesson device)</source>
        <translation>এই ডিভাইস নির্দেশ নিশ্চিত করে না (পাঠের ডিভাইস)</translation>
    </message>
</context>
<context>
    <name>nightlight::LightChart</name>
    <message>
        <source>No device selected</source>
        <translation>কোনো ডিভাইস বাছাই করা হয়নি</translation>
    </message>
    <message>
        <source>No data yet for %1</source>
        <translation>%1-এর জন্য এখনো কোনো তথ্য নেই</translation>
    </message>
    <message>
        <source>No samples in this window</source>
        <translation>এই সময়সীমায় কোনো মাপ নেই</translation>
    </message>
    <message>
        <source>Reading the history…</source>
        <translation>ইতিহাস পড়া হচ্ছে…</translation>
    </message>
    <message>
        <source>live</source>
        <translation>সরাসরি</translation>
    </message>
</context>
<context>
    <name>nightlight::MainWindow</name>
    <message>
        <source>Nightlight Dashboard</source>
        <translation>নাইটলাইট ড্যাশবোর্ড</translation>
    </message>
    <message>
        <source>Export &amp;Visible Range as CSV…</source>
        <translation>দৃশ্যমান অংশ CSV হিসেবে রপ্তানি (&amp;V)…</translation>
    </message>
    <message>
        <source>Export &amp;All as CSV…</source>
        <translation>সবকিছু CSV হিসেবে রপ্তানি (&amp;A)…</translation>
    </message>
    <message>
        <source>Export Chart as &amp;PNG…</source>
        <translation>চার্ট PNG হিসেবে রপ্তানি (&amp;P)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>বন্ধ করুন (&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>সেটিংস (&amp;S)…</translation>
    </message>
    <message>
        <source>&amp;Reconnect</source>
        <translation>পুনরায় সংযোগ (&amp;R)</translation>
    </message>
    <message>
        <source>1 min</source>
        <translation>১ মিনিট</translation>
    </message>
    <message>
        <source>10 min</source>
        <translation>১০ মিনিট</translation>
    </message>
    <message>
        <source>1 h</source>
        <translation>১ ঘণ্টা</translation>
    </message>
    <message>
        <source>24 h</source>
        <translation>২৪ ঘণ্টা</translation>
    </message>
    <message>
        <source>All</source>
        <translation>সব</translation>
    </message>
    <message>
        <source>Show %1 (%2)</source>
        <translation>%1 দেখান (%2)</translation>
    </message>
    <message>
        <source>&amp;Live</source>
        <translation>সরাসরি (&amp;L)</translation>
    </message>
    <message>
        <source>Follow new data (%1)</source>
        <translation>নতুন তথ্য অনুসরণ করুন (%1)</translation>
    </message>
    <message>
        <source>&amp;About Nightlight Dashboard</source>
        <translation>নাইটলাইট ড্যাশবোর্ড সম্পর্কে (&amp;A)</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>ফাইল (&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Connection</source>
        <translation>সংযোগ (&amp;C)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>দৃশ্য (&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>সাহায্য (&amp;H)</translation>
    </message>
    <message>
        <source>Show:</source>
        <translation>দেখান:</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>ডিভাইসসমূহ</translation>
    </message>
    <message>
        <source>Connected to %1</source>
        <translation>%1-এ সংযুক্ত</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>%1-এ সংযোগ করা হচ্ছে…</translation>
    </message>
    <message>
        <source>Connecting to %1… (last error: %2)</source>
        <translation>%1-এ সংযোগ করা হচ্ছে… (শেষ ত্রুটি: %2)</translation>
    </message>
    <message>
        <source>Disconnected</source>
        <translation>সংযোগ বিচ্ছিন্ন</translation>
    </message>
    <message>
        <source>Not connected: %1</source>
        <translation>সংযুক্ত নয়: %1</translation>
    </message>
    <message>
        <source>%1 — Nightlight Dashboard</source>
        <translation>%1 — নাইটলাইট ড্যাশবোর্ড</translation>
    </message>
    <message>
        <source>Malformed: %1</source>
        <translation>ত্রুটিপূর্ণ বার্তা: %1</translation>
    </message>
    <message>
        <source>Messages ignored because they could not be read. Last: %1</source>
        <translation>যে বার্তাগুলো পড়া যায়নি সেগুলো উপেক্ষা করা হয়েছে। সর্বশেষ: %1</translation>
    </message>
    <message>
        <source>No malformed messages received</source>
        <translation>কোনো ত্রুটিপূর্ণ বার্তা আসেনি</translation>
    </message>
    <message>
        <source>Malformed Messages</source>
        <translation>ত্রুটিপূর্ণ বার্তা</translation>
    </message>
    <message>
        <source>No malformed messages received.</source>
        <translation>কোনো ত্রুটিপূর্ণ বার্তা আসেনি।</translation>
    </message>
    <message>
        <source>Messages that could not be read and were ignored: %1</source>
        <translation>যে বার্তাগুলো পড়া যায়নি এবং উপেক্ষা করা হয়েছে: %1</translation>
    </message>
    <message>
        <source>Last: %1</source>
        <translation>সর্বশেষ: %1</translation>
    </message>
    <message>
        <source>Reset Counter</source>
        <translation>গণনা শূন্য করুন</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>%1 লেখা যাচ্ছে না: %2</translation>
    </message>
    <message>
        <source>Exporting %1…</source>
        <translation>%1 রপ্তানি হচ্ছে…</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>%1 সংরক্ষিত হয়েছে</translation>
    </message>
    <message>
        <source>Cannot write %1</source>
        <translation>%1 লেখা যাচ্ছে না</translation>
    </message>
    <message>
        <source>Export Visible Range</source>
        <translation>দৃশ্যমান অংশ রপ্তানি</translation>
    </message>
    <message>
        <source>Export All</source>
        <translation>সবকিছু রপ্তানি</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV ফাইল (*.csv)</translation>
    </message>
    <message>
        <source>Export Chart</source>
        <translation>চার্ট রপ্তানি</translation>
    </message>
    <message>
        <source>PNG images (*.png)</source>
        <translation>PNG ছবি (*.png)</translation>
    </message>
    <message>
        <source>About Nightlight Dashboard</source>
        <translation>নাইটলাইট ড্যাশবোর্ড সম্পর্কে</translation>
    </message>
    <message>
        <source>&lt;h3&gt;Nightlight Dashboard %1&lt;/h3&gt;&lt;p&gt;Shows a nightlight&apos;s light readings and switches its LED over MQTT.&lt;/p&gt;&lt;p&gt;Built with Qt %2 and libmosquitto.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;নাইটলাইট ড্যাশবোর্ড %1&lt;/h3&gt;&lt;p&gt;MQTT-এর মাধ্যমে নাইটলাইটের আলোর মাপ দেখায় এবং এর LED চালু-বন্ধ করে।&lt;/p&gt;&lt;p&gt;Qt %2 এবং libmosquitto দিয়ে তৈরি।&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Live</source>
        <translation>সরাসরি</translation>
    </message>
    <message>
        <source>Password not stored: %1</source>
        <translation>পাসওয়ার্ড সংরক্ষণ করা হয়নি: %1</translation>
    </message>
    <message>
        <source>History is not saved: %1</source>
        <translation>ইতিহাস সংরক্ষণ করা যাচ্ছে না: %1</translation>
    </message>
    <message>
        <source>History database: %1</source>
        <translation>ইতিহাসের ডেটাবেস: %1</translation>
    </message>
    <message>
        <source>History database</source>
        <translation>ইতিহাসের ডেটাবেস</translation>
    </message>
    <message>
        <source>Device limit reached: the dashboard tracks %1 devices and ignores new ones (--max-devices)</source>
        <translation>ডিভাইসের সীমায় পৌঁছেছে: ড্যাশবোর্ড %1টি ডিভাইস ট্র্যাক করছে এবং নতুনগুলি উপেক্ষা করছে (--max-devices)</translation>
    </message>
    <message>
        <source>&amp;Forget Device…</source>
        <translation>ডিভাইস ভুলে যান (&amp;F)…</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>সম্পাদনা (&amp;E)</translation>
    </message>
    <message>
        <source>Forget Device</source>
        <translation>ডিভাইস ভুলে যান</translation>
    </message>
    <message>
        <source>Forget the device “%1”?</source>
        <translation>“%1” ডিভাইসটি ভুলে যাবেন?</translation>
    </message>
    <message>
        <source>It leaves the list and is no longer watched. If it sends a reading again, it comes back as a new device.</source>
        <translation>এটি তালিকা থেকে সরে যাবে এবং আর নজরে রাখা হবে না। এটি আবার কোনো রিডিং পাঠালে নতুন ডিভাইস হিসেবে ফিরে আসবে।</translation>
    </message>
    <message>
        <source>Also delete its stored history (%1 readings)</source>
        <translation>এর সংরক্ষিত ইতিহাসও মুছে ফেলুন (%1টি রিডিং)</translation>
    </message>
    <message>
        <source>&amp;Forget</source>
        <translation>ভুলে যান (&amp;F)</translation>
    </message>
    <message>
        <source>Forgot %1 and deleted its history</source>
        <translation>%1 ভুলে যাওয়া হয়েছে এবং এর ইতিহাস মুছে ফেলা হয়েছে</translation>
    </message>
    <message>
        <source>Forgot %1</source>
        <translation>%1 ভুলে যাওয়া হয়েছে</translation>
    </message>
    <message>
        <source>Filter devices</source>
        <translation>ডিভাইস খুঁজুন</translation>
    </message>
    <message>
        <source>Forget %1 devices?</source>
        <translation>%1টি ডিভাইস ভুলে যাবেন?</translation>
    </message>
    <message>
        <source>They leave the list and are no longer watched. One that sends a reading again comes back as a new device.</source>
        <translation>এগুলি তালিকা থেকে সরে যাবে এবং আর নজরে রাখা হবে না। যেটি আবার কোনো রিডিং পাঠাবে সেটি নতুন ডিভাইস হিসেবে ফিরে আসবে।</translation>
    </message>
    <message>
        <source>Also delete their stored history (%1 readings)</source>
        <translation>এগুলির সংরক্ষিত ইতিহাসও মুছে ফেলুন (%1টি রিডিং)</translation>
    </message>
    <message>
        <source>Forgot %1 devices and deleted their history</source>
        <translation>%1টি ডিভাইস ভুলে যাওয়া হয়েছে এবং এগুলির ইতিহাস মুছে ফেলা হয়েছে</translation>
    </message>
    <message>
        <source>Forgot %1 devices</source>
        <translation>%1টি ডিভাইস ভুলে যাওয়া হয়েছে</translation>
    </message>
    <message>
        <source>&amp;Class</source>
        <translation>ক্লাস (&amp;C)</translation>
    </message>
    <message>
        <source>Class</source>
        <translation>ক্লাস</translation>
    </message>
    <message>
        <source>Every device as a tile (%1)</source>
        <translation>প্রতিটি ডিভাইস একটি টাইল হিসেবে (%1)</translation>
    </message>
    <message>
        <source>View</source>
        <translation>দৃশ্য</translation>
    </message>
    <message>
        <source>Sort by %1</source>
        <translation>%1 অনুযায়ী সাজান</translation>
    </message>
</context>
<context>
    <name>nightlight::PasswordStore</name>
    <message>
        <source>built without QtKeychain</source>
        <translation>QtKeychain ছাড়া তৈরি</translation>
    </message>
    <message>
        <source>no Secret Service or KWallet answered: %1</source>
        <translation>Secret Service বা KWallet কোনোটিই সাড়া দেয়নি: %1</translation>
    </message>
</context>
</TS>
